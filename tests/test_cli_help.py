"""`baton --version`, and a `--help` that gives each option's meaning and default and the
environment variables each command reads; no text cites a document outside the repository."""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from app.__main__ import _parser
from app.variables import COMMAND_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r"(GITHUB|BATON)_[A-Z0-9_]+")

# Code outside a command's own handler that reads the environment, and the commands that run
# it: (module, top-level function), or (module, None) for every function of the module.
READERS: dict[tuple[str, str | None], set[str]] = {
    ("app/__main__.py", "main"): set(COMMAND_VARIABLES),
    ("app/settings.py", None): {"serve", "sweep", "check-config", "report"},
    ("app/setup.py", "serve_setup"): {"serve"},
    ("app/sweep.py", "sweep_interval"): {"serve"},
    ("app/action.py", "read_event"): {"action"},
    ("app/action.py", "run_action"): {"action"},
    ("app/action.py", "create_labels"): {"labels"},
}


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
        if action.default not in (None, False):
            assert f"(default: {action.default})" in text, f"{command} {name}: default not shown"
    assert "SPEC" not in text


@pytest.mark.parametrize("command", sorted(commands()))
def test_each_command_lists_the_environment_it_reads(command: str) -> None:
    text = flat(baton(command, "--help"))

    for name in COMMAND_VARIABLES[command]:
        assert re.search(rf"\b{name}\b", text), f"baton {command} --help does not name {name}"


def test_the_table_has_a_row_for_each_command() -> None:
    assert set(COMMAND_VARIABLES) == set(commands())


def environment_reads(tree: ast.Module) -> Iterator[tuple[str | None, str]]:
    """(top-level function or None, variable) for each `x.get(NAME)` and `x[NAME]` of the
    module, NAME being a GITHUB_ or BATON_ string or a module constant holding one."""
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def key_of(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return constants.get(node.id) if isinstance(node, ast.Name) else None

    for top in tree.body:
        function = top.name if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef) else None
        for node in ast.walk(top):
            key = None
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and node.args
            ):
                key = key_of(node.args[0])
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                key = key_of(node.slice)
            if key is not None and VARIABLE.fullmatch(key):
                yield function, key


def handlers() -> dict[str, set[str]]:
    """The name of each command's handler in app/__main__.py, and the commands it runs for."""
    by_handler: dict[str, set[str]] = {}
    for name, parser in commands().items():
        by_handler.setdefault(parser.get_default("run").__name__, set()).add(name)
    return by_handler


def test_every_variable_the_code_reads_is_listed_for_the_commands_that_read_it() -> None:
    by_handler = handlers()
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        module = path.relative_to(ROOT).as_posix()
        if module.startswith(("app/sandbox/", "app/demo/")):
            continue  # the GitHub stand-in and the demo it plays read no environment
        for function, variable in environment_reads(ast.parse(path.read_text())):
            readers = (
                READERS.get((module, function))
                or READERS.get((module, None))
                or (by_handler.get(function or "", set()) if module == "app/__main__.py" else None)
            )
            assert readers, f"{module}:{function} reads {variable}: add it to READERS"
            for command in readers:
                assert variable in COMMAND_VARIABLES[command], (
                    f"baton {command} reads {variable} ({module}:{function})"
                )
            found.append(variable)
    assert {"GITHUB_APP_ID", "GITHUB_TOKEN", "GITHUB_EVENT_PATH", "BATON_PUBLIC_URL"} <= set(
        found
    ), "the scan finds the reads it is meant to"


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
