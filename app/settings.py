"""The environment Baton runs in (SPEC §8), also read from a `.env` file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from app.incident.state import derive_state_key

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DATABASE_URL = "sqlite:///baton.db"


class SettingsError(ValueError):
    """A required setting is missing or unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    app_id: int | None = None
    private_key: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    state_key_secret: str | None = field(default=None, repr=False)
    http_timeout: float = 10.0

    @property
    def has_app_credentials(self) -> bool:
        return bool(self.app_id and self.private_key and self.webhook_secret)

    def state_key(self) -> bytes:
        """The key for the card's MAC: BATON_STATE_KEY, else derived from the webhook secret."""
        secret = self.state_key_secret or self.webhook_secret
        if not secret:
            raise SettingsError("set BATON_STATE_KEY (or GITHUB_WEBHOOK_SECRET) to sign the card")
        return derive_state_key(secret)

    def require_app(self) -> str:
        """Check that the App's credentials are all set; returns the webhook secret."""
        missing = [
            name
            for name, value in (
                ("GITHUB_APP_ID", self.app_id),
                ("GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_PATH", self.private_key),
                ("GITHUB_WEBHOOK_SECRET", self.webhook_secret),
            )
            if not value
        ]
        if missing or not self.webhook_secret:
            raise SettingsError("missing " + ", ".join(missing))
        return self.webhook_secret


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Settings from the environment, with a `.env` file filling in what the environment lacks."""
    values: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return Settings(
        app_id=_app_id(values.get("GITHUB_APP_ID")),
        private_key=_private_key(values),
        webhook_secret=values.get("GITHUB_WEBHOOK_SECRET") or None,
        api_url=values.get("GITHUB_API_URL") or DEFAULT_API_URL,
        database_url=values.get("BATON_DATABASE_URL") or DEFAULT_DATABASE_URL,
        state_key_secret=values.get("BATON_STATE_KEY") or None,
        http_timeout=float(values.get("BATON_HTTP_TIMEOUT") or 10.0),
    )


def _app_id(text: str | None) -> int | None:
    if not text:
        return None
    if not text.strip().isdigit():
        raise SettingsError("GITHUB_APP_ID must be the App's numeric id")
    return int(text)


def _private_key(values: Mapping[str, str]) -> str | None:
    if key := values.get("GITHUB_APP_PRIVATE_KEY"):
        # A key pasted into one line of an environment variable keeps its newlines as "\n".
        return key.replace("\\n", "\n")
    if path := values.get("GITHUB_APP_PRIVATE_KEY_PATH"):
        try:
            return Path(path).read_text()
        except OSError as error:
            raise SettingsError(
                f"GITHUB_APP_PRIVATE_KEY_PATH: cannot read {path}: {error.strerror}"
            ) from error
    return None
