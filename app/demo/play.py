"""`baton demo`: a whole incident, played against the GitHub stand-in over real HTTP with real
signed webhooks, then printed as a reader of the issue would see it; to a pipe or a file, or with
`--plain`, as the Markdown that is on the issues, uncut. The incident is public: the demo ends by
building the status page (docs/status-page.md) and saying where it is."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.rule import Rule

from app.demo.harness import REPO, MovableClock, Stage, stage
from app.entry.status_page import build_status_page

HIDDEN = re.compile(r"<!--.*?-->\n?", re.DOTALL)  # GitHub does not show HTML comments
TIME_MARK = re.compile(r"\{t([+-]\d+)\}")

REPORT_FORM = """### Summary

Checkout fails with a 502 for every card payment.

### Impact

{impact}

### When did it start?

{started}

### Severity

sev2 — Major: a core feature is broken or badly degraded for many users

### Links

_No response_

### How to reach you

@rita on the support channel
"""

IMPACT = "All customers in the EU region (about 40% of traffic) cannot pay."

# (minutes after the start, who, what they write)
CONVERSATION: tuple[tuple[int, str, str], ...] = (
    (3, "alice", "/ic me"),
    (5, "alice", "/sme @carol database"),
    (
        10,
        "alice",
        "/update Card payments fail with a 502 in the EU region since about {t-2}. "
        "We suspect the release of {t-5} and are checking the payment service's database pool.",
    ),
    (
        25,
        "alice",
        "/handoff @bob\nDone: the release is the likely cause; @carol confirmed the database is "
        "healthy.\nNext: roll back release 2026.11.24-3 and watch the error rate.",
    ),
    (27, "bob", "/accept"),
    (40, "bob", "/mitigated Rolled back release 2026.11.24-3; the error rate is at baseline."),
    (
        45,
        "carol",
        "/note {t+20} We decided against failing over the primary database: replica lag was 40 s.",
    ),
    (
        70,
        "bob",
        "/resolved The connection-pool setting of that release was reverted, and the release "
        "pipeline now rejects it.",
    ),
    (90, "rita", "Checkout works for me again, thank you!\n\n/confirm"),
)


async def play(console: Console, *, plain: bool = False, status_page: Path | None = None) -> None:
    """Play the incident and print it: rendered on a terminal, else (or with `plain`) as the
    Markdown on the issues, which a pipe must not cut at the terminal's width. Then build the
    status page into `status_page` (by default a new temporary folder) and say where it is."""
    clock = MovableClock()
    out = (status_page or Path(tempfile.mkdtemp(prefix="baton-demo-status-"))).resolve()
    async with stage(over_http=True, clock=clock) as world:
        number = await run_incident(world, clock)
        show(console, world, number, plain=plain or not console.is_terminal)
        built = await build_status_page(
            world.settings, repo=REPO, token=None, out=out, now=clock.now, url=out.as_uri()
        )
    console.file.write(f"\nThe public status page of this incident: {built.index}\n")


def show(console: Console, world: Stage, number: int, *, plain: bool) -> None:
    """The incident issue and its retrospective, each with its comments."""
    print_story = _plain if plain else _rich
    retro = next(i for i in world.standin.issues(REPO) if "retrospective" in _labels(i))
    for issue in (world.standin.issue(REPO, number), retro):
        print_story(console, issue, world.standin.comments(REPO, issue["number"]))


async def run_incident(world: Stage, clock: MovableClock) -> int:
    """The story, from the report to the closing; the incident's number."""
    standin, start = world.standin, clock.now
    started = f"{start - timedelta(minutes=2):%Y-%m-%d %H:%M} UTC"
    report = REPORT_FORM.format(started=started, impact=IMPACT)
    issue = await standin.open_issue(
        REPO,
        "[Incident]: Checkout fails for card payments",
        report,
        "rita",
        labels=["incident", "public"],
    )
    number = int(issue["number"])
    await world.settle()
    for minutes, author, text in CONVERSATION:
        clock.now = start + timedelta(minutes=minutes)
        await standin.comment(REPO, number, _at_times(text, start), author)
        await world.settle()
    clock.now = start + timedelta(minutes=120)
    retro = next(i for i in standin.issues(REPO) if "retrospective" in _labels(i))
    # The fix is confirmed, so closing the retrospective (the report done) closes the incident.
    await standin.close_issue(REPO, retro["number"], "bob")
    await world.settle()
    return number


def _at_times(text: str, start: datetime) -> str:
    """The story's clock times, `{t+20}` or `{t-5}`: minutes from the start, as HH:MM UTC."""
    return TIME_MARK.sub(lambda m: f"{start + timedelta(minutes=int(m[1])):%H:%M}", text)


def _labels(issue: dict[str, Any]) -> list[str]:
    return [label["name"] for label in issue["labels"]]


def _visible(markdown: str) -> str:
    return HIDDEN.sub("", markdown).strip()


def _comment_heading(comment: dict[str, Any]) -> str:
    return f"@{comment['user']['login']} commented at {comment['created_at']}"


def _issue_heading(issue: dict[str, Any]) -> str:
    labels = ", ".join(_labels(issue))
    return f"#{issue['number']} {issue['title']} — {issue['state']} [{labels}]"


def _story(issue: dict[str, Any], comments: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    yield _issue_heading(issue), issue["body"] or ""
    for comment in comments:
        yield _comment_heading(comment), comment["body"] or ""


def _plain(console: Console, issue: dict[str, Any], comments: list[dict[str, Any]]) -> None:
    """Each text exactly as it is on GitHub: not wrapped, no markup or emoji codes read."""
    for heading, text in _story(issue, comments):
        console.file.write(f"\n=== {heading}\n\n{text}\n")


def _rich(console: Console, issue: dict[str, Any], comments: list[dict[str, Any]]) -> None:
    for heading, text in _story(issue, comments):
        console.print(Rule(heading, align="left"))
        console.print(Markdown(_visible(text)))
