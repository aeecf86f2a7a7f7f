"""The environment variables each `baton` command reads (all declared in `app/entry/settings.py`,
read from the environment or a `.env` file in the working directory). Each command's `--help`
lists its own, docs/setup.md has the same table, and a test holds both to the declarations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

APP: Final = (
    "GITHUB_APP_ID",
    "GITHUB_APP_PRIVATE_KEY",
    "GITHUB_APP_PRIVATE_KEY_PATH",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_API_URL",
    "BATON_DATABASE_URL",
    "BATON_STATE_KEY",
    "BATON_HTTP_TIMEOUT",
)

COMMAND_VARIABLES: Final[Mapping[str, tuple[str, ...]]] = {
    "serve": (
        *APP,
        "BATON_PUBLIC_URL",
        "BATON_SWEEP_INTERVAL",
        "BATON_LOG_LEVEL",
        "BATON_LOG_FORMAT",
        "BATON_RETENTION_DAYS",
        "BATON_SLACK_WEBHOOK_URL",
    ),
    "sweep": (*APP, "GITHUB_TOKEN", "GITHUB_REPOSITORY"),
    "demo": (),
    "action": (
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_RUN_ID",
        "GITHUB_TOKEN",
        "BATON_STATE_KEY",
        "GITHUB_API_URL",
    ),
    "labels": ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_API_URL"),
    "check-config": (*APP, "GITHUB_TOKEN"),
    "report": (*APP, "GITHUB_TOKEN"),
    "status-page": (*APP, "GITHUB_TOKEN"),
    "deliveries": ("BATON_DATABASE_URL", "BATON_RETENTION_DAYS"),
}
