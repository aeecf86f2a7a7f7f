"""Baton's settings: every variable read from the environment and `.env` alike, and a bad value
refused at start-up in one line that names the variable, the value and the form expected."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.entry.settings import VARIABLES, Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]

# Every variable Baton reads, with a value worth reading and where it lands.
GOOD = {
    "GITHUB_APP_ID": ("123456", "app_id", 123456),
    "GITHUB_API_URL": (
        "https://ghe.example.com/api/v3",
        "api_url",
        "https://ghe.example.com/api/v3",
    ),
    "BATON_DATABASE_URL": (
        "sqlite:////var/lib/baton.db",
        "database_url",
        "sqlite:////var/lib/baton.db",
    ),
    "BATON_STATE_KEY": ("a secret", "state_key_secret", "a secret"),
    "BATON_HTTP_TIMEOUT": ("2.5", "http_timeout", 2.5),
    "BATON_RETENTION_DAYS": ("14", "retention_days", 14),
    "BATON_SWEEP_INTERVAL": ("60", "sweep_interval", 60.0),
    "BATON_PUBLIC_URL": ("https://baton.example.com", "public_url", "https://baton.example.com"),
    "BATON_LOG_LEVEL": ("warning", "log_level", "WARNING"),
    "BATON_LOG_FORMAT": ("json", "log_format", "json"),
    "BATON_SLACK_WEBHOOK_URL": (
        "https://hooks.slack.com/services/T0/B0/secret",
        "slack_webhook_url",
        "https://hooks.slack.com/services/T0/B0/secret",
    ),
    "GITHUB_TOKEN": ("ghs_token", "github_token", "ghs_token"),
    "GITHUB_REPOSITORY": ("acme/payments", "github_repository", "acme/payments"),
    "GITHUB_EVENT_NAME": ("issues", "event_name", "issues"),
    "GITHUB_EVENT_PATH": ("/tmp/event.json", "event_path", Path("/tmp/event.json")),
    "GITHUB_RUN_ID": ("7001", "run_id", "7001"),
    "GITHUB_WEBHOOK_SECRET": ("hook secret", "webhook_secret", "hook secret"),
}

BAD = {
    "GITHUB_APP_ID": (
        "abc",
        "baton: GITHUB_APP_ID='abc': expected the App's numeric id, such as 123456",
    ),
    "GITHUB_API_URL": (
        "api.github.com",
        "baton: GITHUB_API_URL='api.github.com': expected an http(s) address, such as "
        "https://HOST/api/v3",
    ),
    "BATON_DATABASE_URL": (
        "mysql://baton:hunter2@db/baton",
        "baton: BATON_DATABASE_URL: Baton stores deliveries in SQLite or PostgreSQL, not 'mysql':"
        " expected sqlite:///path/to/baton.db or postgresql://USER@HOST:PORT/DATABASE",
    ),
    "BATON_HTTP_TIMEOUT": (
        "abc",
        "baton: BATON_HTTP_TIMEOUT='abc': expected seconds, a number above 0 such as 10",
    ),
    "BATON_SWEEP_INTERVAL": (
        "five minutes",
        "baton: BATON_SWEEP_INTERVAL='five minutes': expected seconds (such as 300) or a duration "
        "(such as 5m); 0 turns the server's sweep off",
    ),
    "BATON_PUBLIC_URL": (
        "baton.example.com",
        "baton: BATON_PUBLIC_URL='baton.example.com': expected the https address GitHub "
        "reaches, such as https://baton.example.com",
    ),
    "BATON_LOG_LEVEL": (
        "loud",
        "baton: BATON_LOG_LEVEL='loud': expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    ),
    "BATON_LOG_FORMAT": ("xml", "baton: BATON_LOG_FORMAT='xml': expected text or json"),
    "BATON_SLACK_WEBHOOK_URL": (  # a secret: its value is never shown
        "hooks.slack.com/services/T0/B0/secret",
        "baton: BATON_SLACK_WEBHOOK_URL: expected a Slack incoming webhook's https address, "
        "such as https://hooks.slack.com/services/…; the value is a secret and not shown",
    ),
    "GITHUB_REPOSITORY": (
        "justname",
        "baton: GITHUB_REPOSITORY='justname': expected OWNER/NAME, such as acme/payments",
    ),
    "GITHUB_APP_PRIVATE_KEY": (
        "ghp_0123",
        "baton: GITHUB_APP_PRIVATE_KEY is not a PEM private key: no '-----BEGIN ... PRIVATE "
        "KEY-----' line; use the .pem file GitHub generated for the App",
    ),
    "GITHUB_APP_PRIVATE_KEY_PATH": (
        "/no/such/key.pem",
        "baton: GITHUB_APP_PRIVATE_KEY_PATH: cannot read /no/such/key.pem: No such file or "
        "directory",
    ),
}


def test_every_variable_is_declared_once_with_its_help() -> None:
    assert set(VARIABLES) == {*GOOD, "GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_PATH"}
    for name in VARIABLES.values():
        assert Settings.model_fields[name].description


@pytest.mark.parametrize("variable", GOOD)
def test_a_variable_is_read_from_the_environment_and_from_dotenv(
    variable: str, tmp_path: Path
) -> None:
    text, field, value = GOOD[variable]
    env_file = tmp_path / ".env"
    env_file.write_text(f"{variable}={text}\n")

    assert getattr(load_settings({variable: text}, env_file=None), field) == value
    assert getattr(load_settings({}, env_file=env_file), field) == value


def test_the_environment_wins_over_dotenv_and_empty_means_unset(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("BATON_SWEEP_INTERVAL=60\nBATON_HTTP_TIMEOUT=3\n")

    settings = load_settings({"BATON_SWEEP_INTERVAL": "0", "BATON_HTTP_TIMEOUT": ""}, env_file)

    assert (settings.sweep_interval, settings.http_timeout) == (0.0, 3.0)
    assert load_settings({}, env_file=None) == Settings()


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300.0), ("1h30m", 5400.0), ("90", 90.0)])
def test_the_sweep_interval_is_seconds_or_a_duration(text: str, seconds: float) -> None:
    assert load_settings({"BATON_SWEEP_INTERVAL": text}, env_file=None).sweep_interval == seconds


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///baton.db",
        "postgresql://baton@db.internal:5432/baton",
        "postgres://baton:hunter2@db.internal/baton?sslmode=require",
    ],
)
def test_the_database_is_sqlite_or_postgresql(url: str) -> None:
    assert load_settings({"BATON_DATABASE_URL": url}, env_file=None).database_url == url


def test_a_key_written_on_one_line_keeps_its_newlines() -> None:
    from app.demo.harness import app_key_pem

    pem = app_key_pem()[0]
    settings = load_settings({"GITHUB_APP_PRIVATE_KEY": pem.replace("\n", "\\n")}, env_file=None)
    assert settings.private_key == pem


def test_the_key_file_is_read_and_named_in_errors(tmp_path: Path) -> None:
    from app.demo.harness import app_key_pem

    key_file = tmp_path / "baton.pem"
    key_file.write_text(app_key_pem()[0])
    settings = load_settings({"GITHUB_APP_PRIVATE_KEY_PATH": str(key_file)}, env_file=None)
    assert settings.private_key == app_key_pem()[0]
    assert settings.private_key_from == f"GITHUB_APP_PRIVATE_KEY_PATH ({key_file})"


def test_no_module_but_the_settings_reads_the_environment() -> None:
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "app").rglob("*.py"))
        if path.name != "settings.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"os\.environ|getenv\(", line)
    ]
    assert readers == []


def test_the_readme_names_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    assert [name for name in VARIABLES if f"`{name}`" not in readme] == []


def run_sweep(cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "BATON_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "app", "sweep", "--dry-run"],
        env=environment | {"PYTHONPATH": str(ROOT), **variables},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("variable", BAD)
def test_a_bad_value_stops_the_command_in_one_line(variable: str, tmp_path: Path) -> None:
    text, line = BAD[variable]

    from_environment = run_sweep(tmp_path, **{variable: text})
    (tmp_path / ".env").write_text(f"{variable}={text}\n")
    from_dotenv = run_sweep(tmp_path)

    for ran in (from_environment, from_dotenv):
        assert (ran.returncode, ran.stderr.splitlines(), ran.stdout) == (2, [line], "")


def test_a_bad_value_is_refused_in_load_settings_too() -> None:
    with pytest.raises(SettingsError, match=r"^BATON_HTTP_TIMEOUT='0': expected seconds"):
        load_settings({"BATON_HTTP_TIMEOUT": "0"}, env_file=None)
