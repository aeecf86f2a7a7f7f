"""The environment variables each `baton` command reads. Each command's `--help` lists its
own, docs/setup.md has the same table, and a test holds both to what the code reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# What `load_settings()` reads, from the environment or a `.env` file in the working directory.
SETTINGS: Final = (
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
    "serve": (*SETTINGS, "BATON_PUBLIC_URL", "BATON_SWEEP_INTERVAL"),
    "sweep": (*SETTINGS, "GITHUB_TOKEN", "GITHUB_REPOSITORY"),
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
    "check-config": (*SETTINGS, "GITHUB_TOKEN"),
    "report": (*SETTINGS, "GITHUB_TOKEN"),
}
