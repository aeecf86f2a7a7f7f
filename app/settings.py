"""The environment Baton runs in (SPEC §8), also read from a `.env` file."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dotenv import dotenv_values

from app.incident.state import derive_state_key
from app.logs import FORMATS, LEVELS

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DATABASE_URL = "sqlite:///baton.db"
KEY_VARIABLE = "GITHUB_APP_PRIVATE_KEY"
KEY_PATH_VARIABLE = "GITHUB_APP_PRIVATE_KEY_PATH"


class SettingsError(ValueError):
    """A required setting is missing or unusable; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    app_id: int | None = None
    private_key: str | None = field(default=None, repr=False)
    private_key_from: str = KEY_VARIABLE  # where the key was read, for error messages
    webhook_secret: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    state_key_secret: str | None = field(default=None, repr=False)
    http_timeout: float = 10.0
    log_level: str = "INFO"
    log_format: str = "text"

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
        if missing or not self.webhook_secret or not self.private_key:
            raise SettingsError("missing " + ", ".join(missing))
        check_private_key(self.private_key, self.private_key_from)
        return self.webhook_secret


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Settings from the environment, with a `.env` file filling in what the environment lacks."""
    values: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    private_key, private_key_from = _private_key(values)
    return Settings(
        app_id=_app_id(values.get("GITHUB_APP_ID")),
        private_key=private_key,
        private_key_from=private_key_from,
        webhook_secret=values.get("GITHUB_WEBHOOK_SECRET") or None,
        api_url=values.get("GITHUB_API_URL") or DEFAULT_API_URL,
        database_url=values.get("BATON_DATABASE_URL") or DEFAULT_DATABASE_URL,
        state_key_secret=values.get("BATON_STATE_KEY") or None,
        http_timeout=float(values.get("BATON_HTTP_TIMEOUT") or 10.0),
        log_level=_one_of(values, "BATON_LOG_LEVEL", LEVELS, "INFO", str.upper),
        log_format=_one_of(values, "BATON_LOG_FORMAT", FORMATS, "text", str.lower),
    )


def _one_of(
    values: Mapping[str, str],
    name: str,
    choices: tuple[str, ...],
    default: str,
    normal: Callable[[str], str],
) -> str:
    value = normal((values.get(name) or default).strip())
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _app_id(text: str | None) -> int | None:
    if not text:
        return None
    if not text.strip().isdigit():
        raise SettingsError("GITHUB_APP_ID must be the App's numeric id")
    return int(text)


def _private_key(values: Mapping[str, str]) -> tuple[str | None, str]:
    """The App's private key, and where it was read."""
    if key := values.get(KEY_VARIABLE):
        # A key pasted into one line of an environment variable keeps its newlines as "\n".
        return key.replace("\\n", "\n"), KEY_VARIABLE
    if path := values.get(KEY_PATH_VARIABLE):
        try:
            return Path(path).read_text(), f"{KEY_PATH_VARIABLE} ({path})"
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not a text file"
            raise SettingsError(f"{KEY_PATH_VARIABLE}: cannot read {path}: {reason}") from error
    return None, KEY_VARIABLE


def check_private_key(pem: str, source: str) -> None:
    """Refuse, at start-up, a key GitHub would not accept: an App signs its tokens with the
    unencrypted RSA key GitHub generated for it."""
    if "-----BEGIN" not in pem:
        raise SettingsError(
            f"{source} is not a PEM private key: no '-----BEGIN ... PRIVATE KEY-----' line; "
            "use the .pem file GitHub generated for the App"
        )
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise SettingsError(
            f"{source}: the private key is encrypted; give the key as GitHub generated it"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise SettingsError(
            f"{source}: the PEM private key cannot be read (damaged, cut short, or of an "
            "unsupported kind); use the .pem file GitHub generated for the App"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SettingsError(
            f"{source}: the private key is not an RSA key; GitHub Apps sign with RSA keys"
        )
