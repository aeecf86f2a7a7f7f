"""`python -m bench.reliability`: run the reliability tests and write what they measured into
docs/reliability.md, so that every figure on that page comes from a run of a command it names.

The tests print their figures as `figure: NAME: TEXT` lines (`report_figure` in
tests/reliability/helpers.py). This runs them as CI does, with `-s` so the lines show and
`--durations` for the time each test took, and replaces the page's block between
`<!-- run:start -->` and `<!-- run:end -->` with the command, the date, pytest's closing line,
the figures and the slowest tests. `--soak` runs the full-size versions (`BATON_SOAK=1`).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reliability.md"
START, END = "<!-- run:start -->", "<!-- run:end -->"
FIGURE = re.compile(r"^figure: (?P<name>[^:]+): (?P<text>.+)$")
SUMMARY = re.compile(r"^=*\s*(?P<summary>\d+ (?:passed|failed).*?)\s*=*$")
DURATION = re.compile(r"^(?P<seconds>\d+\.\d+)s call\s+(?P<test>\S+)$")
SLOWEST = 6


@dataclass(frozen=True)
class Run:
    command: str
    when: datetime
    machine: str
    summary: str
    figures: tuple[tuple[str, str], ...]
    durations: tuple[tuple[str, float], ...]


def pytest_arguments(soak: bool) -> list[str]:
    # Without coverage: its tracing would slow the timed figures, and part of the suite cannot
    # reach the whole suite's coverage floor.
    return ["-m", "pytest", "tests/reliability", "-s", "--no-cov", f"--durations={SLOWEST}"] + (
        ["-p", "no:cacheprovider"] if soak else []
    )


def read_output(output: str, *, command: str, when: datetime, machine: str) -> Run:
    """What one run printed, as the page shows it."""
    figures: list[tuple[str, str]] = []
    durations: list[tuple[str, float]] = []
    summary = ""
    for line in output.splitlines():
        line = line.strip()
        if figure := FIGURE.match(line):
            figures.append((figure["name"], figure["text"]))
        elif duration := DURATION.match(line):
            durations.append((duration["test"], float(duration["seconds"])))
        elif closing := SUMMARY.match(line):
            summary = closing["summary"]
    if not summary:
        raise ValueError("pytest printed no closing line: the run did not finish")
    return Run(command, when, machine, summary, tuple(figures), tuple(durations))


def run_block(run: Run) -> str:
    lines = [
        START,
        "",
        f"Run on {run.when:%Y-%m-%d %H:%M} UTC, {run.machine}:",
        "",
        f"    {run.command}",
        "",
        f"Result: {run.summary}.",
        "",
        "| figure | what the run printed |",
        "| --- | --- |",
        *(f"| {name} | {text} |" for name, text in run.figures),
        "",
        "The slowest tests:",
        "",
        *(f"- {test}: {seconds:.1f} s" for test, seconds in run.durations),
        "",
        END,
    ]
    return "\n".join(lines)


def with_run(page: str, run: Run) -> str:
    """The page with its run block replaced; everything else kept as it is."""
    start, end = page.index(START), page.index(END) + len(END)
    return page[:start] + run_block(run) + page[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__)
    parser.add_argument("--soak", action="store_true", help="the full-size runs (BATON_SOAK=1)")
    options = parser.parse_args(argv)
    arguments = pytest_arguments(options.soak)
    environment = dict(os.environ, **({"BATON_SOAK": "1"} if options.soak else {}))
    shown = ("BATON_SOAK=1 " if options.soak else "") + ".venv/bin/python -m bench.reliability"
    finished = subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(finished.stdout)
    sys.stderr.write(finished.stderr)
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}"
    run = read_output(finished.stdout, command=shown, when=datetime.now(UTC), machine=machine)
    PAGE.write_text(with_run(PAGE.read_text(), run))
    print(f"docs/reliability.md: {run.summary}, {len(run.figures)} figures written")
    return finished.returncode


if __name__ == "__main__":
    raise SystemExit(main())
