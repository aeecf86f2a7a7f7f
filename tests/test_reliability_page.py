"""docs/reliability.md shows what a run printed: `python -m bench.reliability` reads the run's
output into the page, and the page's commands print what they promise."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.reliability import END, START, read_output, with_run
from tests.reliability.helpers import FIGURE_PREFIX

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "reliability.md"
WHEN = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)

OUTPUT = f"""\
........
{FIGURE_PREFIX}crash and restart: 200 commands, 790 deliveries sent, 4.1 s
..
{FIGURE_PREFIX}rate-limited writes: 104 content-creating requests, 226 writes in 62.4 s
============================= slowest 6 durations ==============================
62.71s call     tests/reliability/test_rate_limits.py::test_writes_are_paced
4.10s call     tests/reliability/test_crash_restart.py::test_a_killed_server
21 passed in 151.20s (0:02:31)
"""


def test_a_run_is_read_into_figures_durations_and_its_closing_line() -> None:
    run = read_output(OUTPUT, command="python -m bench.reliability", when=WHEN, machine="2 cores")
    assert run.summary == "21 passed in 151.20s (0:02:31)"
    assert run.figures == (
        ("crash and restart", "200 commands, 790 deliveries sent, 4.1 s"),
        ("rate-limited writes", "104 content-creating requests, 226 writes in 62.4 s"),
    )
    assert run.durations == (
        ("tests/reliability/test_rate_limits.py::test_writes_are_paced", 62.71),
        ("tests/reliability/test_crash_restart.py::test_a_killed_server", 4.10),
    )


def test_a_run_that_did_not_finish_writes_nothing() -> None:
    with pytest.raises(ValueError, match="no closing line"):
        read_output("....\n", command="c", when=WHEN, machine="m")


def test_the_run_block_is_replaced_and_the_rest_of_the_page_kept() -> None:
    run = read_output(OUTPUT, command="python -m bench.reliability", when=WHEN, machine="2 cores")
    page = f"# Title\n\nBefore.\n\n{START}\nold figures\n{END}\n\nAfter.\n"
    written = with_run(page, run)
    assert written.startswith("# Title\n\nBefore.\n\n" + START)
    assert written.endswith(END + "\n\nAfter.\n")
    assert "old figures" not in written
    assert "| crash and restart | 200 commands, 790 deliveries sent, 4.1 s |" in written
    assert "Result: 21 passed in 151.20s (0:02:31)." in written
    assert with_run(written, run) == written


def test_the_page_holds_a_run_block() -> None:
    page = PAGE.read_text()
    block = page[page.index(START) : page.index(END) + len(END)]
    assert "Result: " in block and "| figure |" in block
    assert block.count(FIGURE_PREFIX.strip()) == 0, "figures are shown as table rows"


def test_the_pages_commands_print_pytests_closing_line() -> None:
    """pytest's own options already ask for `-q`; one more makes `-qq`, which prints no
    closing line, so the reader of a command on the page could not see its result."""
    options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]
    quiet_already = "-q" in options["ini_options"]["addopts"].split()
    commands = re.findall(r"^ {4}(.*python -m pytest.*)$", PAGE.read_text(), re.MULTILINE)
    assert commands
    for command in commands:
        quiet = command.split().count("-q") + (1 if quiet_already else 0)
        assert quiet < 2, command
