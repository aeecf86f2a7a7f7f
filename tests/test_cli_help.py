"""`baton --version`, and a `--help` that gives each option's meaning and default and the
environment variables each command reads; no text cites a document outside the repository."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from app.cli import _parser
from app.entry.settings import Settings
from app.entry.variables import COMMAND_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r"(GITHUB|BATON)_[A-Z0-9_]+")


def baton(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def commands() -> dict[str, argparse.ArgumentParser]:
    [subparsers] = [
        action for action in _parser()._actions if isinstance(action, argparse._SubParsersAction)
    ]
    return dict(subparsers.choices)


def flat(text: str) -> str:
    """The text with its line breaks and indents as single spaces: help wraps long lines."""
    return " ".join(text.split())


def test_version_is_the_installed_packages() -> None:
    assert baton("--version").strip() == f"baton {version('baton')}"


def test_the_overview_lists_every_command_and_where_the_documentation_is() -> None:
    text = flat(baton("--help"))

    for name in commands():
        assert name in text
    assert "docs/setup.md" in text
    assert "SPEC" not in text


@pytest.mark.parametrize("command", sorted(commands()))
def test_each_option_says_what_it_does_and_its_default(command: str) -> None:
    text = flat(baton(command, "--help"))

    for action in commands()[command]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        assert action.help, f"{command} {name} has no help"
        if action.default not in (None, False, argparse.SUPPRESS):
            assert f"(default: {action.default})" in text, f"{command} {name}: default not shown"
    assert "SPEC" not in text


@pytest.mark.parametrize("command", sorted(commands()))
def test_each_command_lists_the_environment_it_reads(command: str) -> None:
    text = flat(baton(command, "--help"))

    for name in COMMAND_VARIABLES[command]:
        assert re.search(rf"\b{name}\b", text), f"baton {command} --help does not name {name}"


def test_the_table_has_a_row_for_each_command() -> None:
    assert set(COMMAND_VARIABLES) == set(commands())


def declared_variables() -> set[str]:
    return {field.alias for field in Settings.model_fields.values() if field.alias}


def test_every_variable_a_command_lists_is_a_declared_setting() -> None:
    listed = {name for names in COMMAND_VARIABLES.values() for name in names}
    assert listed <= declared_variables()


def test_every_declared_setting_is_listed_for_a_command() -> None:
    listed = {name for names in COMMAND_VARIABLES.values() for name in names}
    assert declared_variables() <= listed


def test_setup_md_lists_the_variables_of_each_command() -> None:
    rows = {
        match[1]: set(re.findall(r"`([A-Z0-9_]+)`", match[2]))
        for match in re.finditer(
            r"^\| `baton ([a-z-]+)` \| (.*) \|$",
            (ROOT / "docs" / "setup.md").read_text(),
            re.MULTILINE,
        )
    }
    assert rows == {name: set(variables) for name, variables in COMMAND_VARIABLES.items()}


def test_no_file_cites_a_document_outside_the_repository() -> None:
    texts = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    texts += [path for path in (ROOT / "app").rglob("*") if path.suffix in {".py", ".j2", ".yml"}]
    citing = [path.relative_to(ROOT) for path in texts if "SPEC §" in path.read_text()]
    assert citing == []
