"""The environment Baton runs in (docs/setup.md, "Environment"), also read from a `.env` file.

Every variable Baton reads is declared once here, with its type, default and help; it is read
and checked at start-up, and the settings are passed down from there."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.config import parse_duration
from app.server.databases import FORMS, database_path

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_DATABASE_URL = "sqlite:///baton.db"
KEY_VARIABLE = "GITHUB_APP_PRIVATE_KEY"
KEY_PATH_VARIABLE = "GITHUB_APP_PRIVATE_KEY_PATH"
SLACK_VARIABLE = "BATON_SLACK_WEBHOOK_URL"
REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
REPOSITORY_FORM = "OWNER/NAME, such as acme/payments"
WEB_ADDRESS = r"^https?://\S+$"
DEFAULT_RETENTION_DAYS = 7
# GitHub redelivers deliveries up to 3 days old; Baton must still know those it handled.
MIN_RETENTION_DAYS = 4


class SettingsError(ValueError):
    """A required setting is missing or unusable; the message names the variable."""


def variable(name: str, default: Any, form: str, help: str, **checks: Any) -> Any:
    """A setting read from the environment variable `name`; `form` is what a good value looks
    like, said when a value is refused."""
    return Field(default, alias=name, description=help, json_schema_extra={"form": form}, **checks)


class Settings(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        hide_input_in_errors=True,  # secrets among them: a refusal says the value itself
    )

    # The GitHub App
    app_id: int | None = variable(
        "GITHUB_APP_ID", None, "the App's numeric id, such as 123456", "the App's id", gt=0
    )
    private_key: str | None = variable(
        KEY_VARIABLE,
        None,
        "the PEM private key GitHub generated for the App",
        "the App's private key (newlines may be written \\n)",
        repr=False,
    )
    private_key_path: Path | None = variable(
        KEY_PATH_VARIABLE, None, "a path to the App's .pem file", "the file of the private key"
    )
    # Where the key was read, for error messages; not an environment variable.
    private_key_from: str = KEY_VARIABLE
    webhook_secret: str | None = variable(
        "GITHUB_WEBHOOK_SECRET", None, "text", "the App's webhook secret", repr=False
    )
    api_url: str = variable(
        "GITHUB_API_URL",
        DEFAULT_API_URL,
        "an http(s) address, such as https://HOST/api/v3",
        "GitHub's REST API (GitHub Enterprise Server: https://HOST/api/v3)",
        pattern=WEB_ADDRESS,
    )
    # Baton itself
    database_url: str = variable(
        "BATON_DATABASE_URL",
        DEFAULT_DATABASE_URL,
        FORMS,
        "the delivery store of `baton serve`",
    )
    state_key_secret: str | None = variable(
        "BATON_STATE_KEY",
        None,
        "text",
        "the key of the card's MAC; derived from the webhook secret when unset",
        repr=False,
    )
    retention_days: int = variable(
        "BATON_RETENTION_DAYS",
        DEFAULT_RETENTION_DAYS,
        f"a whole number of days, at least {MIN_RETENTION_DAYS} (GitHub redelivers deliveries"
        " up to 3 days old, and Baton must still know them)",
        "how many days a done delivery and its payload are kept",
        ge=MIN_RETENTION_DAYS,
        strict=False,
    )
    http_timeout: float = variable(
        "BATON_HTTP_TIMEOUT",
        10.0,
        "seconds, a number above 0 such as 10",
        "seconds per GitHub request",
        gt=0,
        allow_inf_nan=False,
    )
    sweep_interval: float = variable(
        "BATON_SWEEP_INTERVAL",
        300.0,
        "seconds (such as 300) or a duration (such as 5m); 0 turns the server's sweep off",
        "time between the server's sweeps",
        ge=0,
        allow_inf_nan=False,
    )
    public_url: str | None = variable(
        "BATON_PUBLIC_URL",
        None,
        "the https address GitHub reaches, such as https://baton.example.com",
        "the address GitHub reaches, for one-click registration",
        pattern=WEB_ADDRESS,
    )
    slack_webhook_url: str | None = variable(
        SLACK_VARIABLE,
        None,
        "a Slack incoming webhook's https address",
        "the Slack incoming webhook told of each incident's moments (docs/notifications.md)",
        repr=False,
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = variable(
        "BATON_LOG_LEVEL",
        "INFO",
        "one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        "the least severe log records written",
    )
    log_format: Literal["text", "json"] = variable(
        "BATON_LOG_FORMAT", "text", "text or json", "how log records are written"
    )
    # A workflow's token, and what GitHub Actions tells a run (Action mode)
    github_token: str | None = variable(
        "GITHUB_TOKEN", None, "a GitHub token", "a token instead of the App", repr=False
    )
    github_repository: str | None = variable(
        "GITHUB_REPOSITORY",
        None,
        REPOSITORY_FORM,
        "the repository of a workflow's run",
        pattern=f"^{REPOSITORY.pattern}$",
    )
    event_name: str | None = variable(
        "GITHUB_EVENT_NAME", None, "a webhook event's name", "the event of a workflow's run"
    )
    event_path: Path | None = variable(
        "GITHUB_EVENT_PATH", None, "a path", "the file holding the event's payload"
    )
    run_id: str = variable("GITHUB_RUN_ID", "", "a number", "the workflow run's id")

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, level: object) -> object:
        return level.upper() if isinstance(level, str) else level

    @field_validator("sweep_interval", mode="before")
    @classmethod
    def _seconds_or_duration(cls, interval: object) -> object:
        if not isinstance(interval, str) or re.fullmatch(r"\s*[\d.]+\s*", interval):
            return interval
        return parse_duration(interval).total_seconds()

    @field_validator("database_url")
    @classmethod
    def _supported_store(cls, url: str) -> str:
        try:
            database_path(url)
        except ValueError as error:
            raise SettingsError(str(error)) from None
        return url

    @field_validator("slack_webhook_url")
    @classmethod
    def _web_address(cls, url: str | None) -> str | None:
        """Refused without its value, which is a secret."""
        if url is not None and not re.fullmatch(r"https?://[^\s/]+/\S+", url):
            raise SettingsError(
                f"{SLACK_VARIABLE}: expected a Slack incoming webhook's https address, such as "
                "https://hooks.slack.com/services/…; the value is a secret and not shown"
            )
        return url

    @model_validator(mode="before")
    @classmethod
    def _read_key_file(cls, given: Any) -> Any:
        """The key written in the environment wins over a key file; a key pasted into one line
        keeps its newlines as "\\n"."""
        if not isinstance(given, dict):
            return given
        values = dict(given)
        key = values.get(KEY_VARIABLE, values.get("private_key"))
        path = values.get(KEY_PATH_VARIABLE, values.get("private_key_path"))
        if isinstance(key, str):
            values[KEY_VARIABLE] = key.replace("\\n", "\n")
            values.pop("private_key", None)
        elif path and key is None:
            values[KEY_VARIABLE] = _read_key(str(path))
            values.pop("private_key", None)
            values.setdefault("private_key_from", f"{KEY_PATH_VARIABLE} ({path})")
        return values

    @model_validator(mode="after")
    def _usable_key(self) -> Settings:
        if self.private_key is not None:
            check_private_key(self.private_key, self.private_key_from)
        return self

    @property
    def has_app_credentials(self) -> bool:
        return bool(self.app_id and self.private_key and self.webhook_secret)

    def state_secret(self) -> str:
        """The secret the card's key is derived from (app/entry/credentials.py): BATON_STATE_KEY,
        else the webhook secret."""
        secret = self.state_key_secret or self.webhook_secret
        if not secret:
            raise SettingsError("set BATON_STATE_KEY (or GITHUB_WEBHOOK_SECRET) to sign the card")
        return secret

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

    def repository(self, given: str | None) -> str | None:
        """The repository a command works on: `--repo` when given, else GITHUB_REPOSITORY."""
        return self.github_repository if given is None else check_repository(given)


def check_repository(given: str) -> str:
    """`--repo`, refused unless it is OWNER/NAME."""
    if not REPOSITORY.fullmatch(given):
        raise SettingsError(f"--repo {given!r}: expected {REPOSITORY_FORM}")
    return given


VARIABLES: Mapping[str, str] = {
    field.alias: name for name, field in Settings.model_fields.items() if field.alias
}


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Settings from the environment, with a `.env` file filling in what the environment lacks.
    An empty value counts as unset."""
    written = dotenv_values(env_file) if env_file and Path(env_file).is_file() else {}
    given: dict[str, str] = {}
    for source in (written, os.environ if environ is None else environ):
        given |= {name: value for name, value in source.items() if name in VARIABLES and value}
    try:
        return Settings.model_validate(given)
    except ValidationError as error:
        raise _one_line(error, given) from None


def _one_line(error: ValidationError, given: Mapping[str, str]) -> SettingsError:
    """The first refusal, naming the variable, its value and the form expected."""
    first = error.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, SettingsError):
        return cause
    name = str(first["loc"][0]) if first["loc"] else ""
    field = Settings.model_fields[VARIABLES[name]]
    extra = field.json_schema_extra
    form = extra.get("form") if isinstance(extra, dict) else None
    return SettingsError(f"{name}={given.get(name, '')!r}: expected {form}")


def _read_key(path: str) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not a text file"
        raise SettingsError(f"{KEY_PATH_VARIABLE}: cannot read {path}: {reason}") from error


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
