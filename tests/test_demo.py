"""`baton demo` plays a whole incident and prints it as a reader of the issue would see it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from app.demo.harness import REPO, MovableClock, stage
from app.demo.play import IMPACT, play, run_incident, show
from app.incident.commands import COMMANDS
from app.incident.declaring import FIRST_RESPONSE_COMMANDS


async def test_the_demo_tells_the_whole_incident(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system=None)
    await play(console, status_page=tmp_path / "status")
    story = out.getvalue()

    for line in (
        "Checkout fails for card payments — closed",
        "Incident declared",
        "@alice is now the Incident Commander for this incident.",
        "@bob, @alice asks you to take over as Incident Commander",
        "@bob is now the Incident Commander for this incident, taking over from @alice.",
        "@carol joins this incident as Subject Matter Expert for database.",
        "Status update",
        "To everyone following this issue: we believe the problem is fixed.",
        "the incident report is done",
        "the incident is now closed",
        "Retrospective: [Incident]: Checkout fails for card payments (#1)",
        "Five whys",
        "Timeline",
    ):
        assert line in story, line
    assert "<!--" not in story  # hidden markers stay hidden, as on GitHub
    assert story.index("taking over from @alice") < story.index("Timeline")


async def test_the_demo_ends_with_where_its_status_page_is(tmp_path: Path) -> None:
    out = io.StringIO()
    await play(Console(file=out, width=80), plain=True, status_page=tmp_path)
    index = tmp_path / "index.html"
    assert out.getvalue().endswith(f"\nThe public status page of this incident: {index}\n")
    page = (tmp_path / "incidents" / "1.html").read_text()
    assert "Checkout fails for card payments" in page and "Closed" in page
    assert "Card payments fail with a 502" in page, "the incident's /update"
    assert "replica lag" not in page and "@bob" not in page, "no note, no names"


async def test_plain_prints_the_markdown_that_is_on_the_issues() -> None:
    clock = MovableClock()
    async with stage(clock=clock) as world:
        number = await run_incident(world, clock)
        out = io.StringIO()
        show(Console(file=out, width=80), world, number, plain=True)
        printed = out.getvalue()
        texts = [
            text
            for issue in world.standin.issues(REPO)  # the incident, then its retrospective
            for text in (
                issue["body"],
                *(c["body"] for c in world.standin.comments(REPO, issue["number"])),
            )
        ]

    assert len(texts) > 10
    at = 0
    for text in texts:
        block = f"\n{text}\n"
        assert block in printed, text
        assert printed.index(block) >= at, "issue, then its comments, in order"
        at = printed.index(block)


def test_piped_output_cuts_nothing(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS")}
    environ["TMPDIR"] = str(tmp_path)  # where the demo's status page goes
    done = subprocess.run(
        [sys.executable, "-m", "app", "demo"],
        env=environ,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        timeout=120,
        check=True,
    )
    lines = done.stdout.splitlines()

    assert f"| Impact | {IMPACT} |" in lines, "the card's impact row, whole"
    listed = [spec for spec in COMMANDS if spec.name in FIRST_RESPONSE_COMMANDS]
    assert len(listed) > 5
    for spec in listed:
        assert any(spec.summary in line for line in lines), spec.summary
