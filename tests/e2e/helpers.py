"""What the end-to-end tests (and the reliability tests and `bench.costs` built on them) share:
the scenes people make on the stand-in, and what they read back from it."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import yaml

from app.demo.harness import REPO, MovableClock, Stage
from app.entry.credentials import github_app, state_key
from app.github.client import GitHubApp
from app.github.config_source import ConfigCache
from app.github.listing import ListingCache
from app.incident.card import CardView, place_card, read_card, render_card
from app.incident.state import IncidentState, issue_state_key
from app.jobs.sweep import sweep_installations
from app.jobs.sweep_report import OperationsBudget, SweepReport
from app.sandbox import RecordedRequest
from app.sandbox.shapes import REACTION_CONTENTS
from app.sandbox.world import Issue

FakeClock = MovableClock  # the clock a test moves

BOT = "baton[bot]"
REPORT = "Checkout fails with a 502 for **every** customer.\r\n\r\n- started 09:40 UTC\n"
REFUSED_OPENING = "I did not apply this comment: nothing in it has changed the incident."
REPLY_KEY = re.compile(r"<!-- baton:reply (\S+) -->")
STATE_LINE = re.compile(r"<!-- baton:state (?P<json>.*?) -->")
FORM = Path(__file__).resolve().parents[2] / "issue_templates" / "incident-report.yml"
A_PERSONS_WHILE = 5  # seconds between Baton's last change and a person's next comment

# The requests Baton sends, as "METHOD route" (`route_list`).
READ_ISSUE = "GET /repos/{owner}/{repo}/issues/{issue_number}"
CHECK_ASSIGNABLE = "GET /repos/{owner}/{repo}/assignees/{assignee}"
REACT = "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"
WRITE_ISSUE = "PATCH /repos/{owner}/{repo}/issues/{issue_number}"
REPLY = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
OPEN_ISSUE = "POST /repos/{owner}/{repo}/issues"
READ_COMMENTS = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"

# Commands a crew sends in the first minutes of an incident.
BURST = (
    ("alice", "/ic me"),
    ("alice", "/status identified"),
    ("alice", "/severity sev1"),
    ("alice", "/liaison @bob"),
    ("carol", "/sme @carol database"),
    ("alice", "/note the pool is exhausted"),
    ("bob", "/update Payments fail for some customers; we are on it."),
)


def card_key(world: Stage, number: int) -> bytes:
    """The MAC key of one incident's card on the stage's repository."""
    return issue_state_key(state_key(world.settings), REPO, number)


def baton_requests(world: Stage) -> list[RecordedRequest]:
    return [r for r in world.standin.requests if r.installation_id is not None]


def route_list(requests: list[RecordedRequest]) -> list[str]:
    return [f"{r.method} {r.route}" for r in requests]


async def open_incident(world: Stage, title: str = "Checkout is down") -> int:
    issue = await world.standin.open_issue(REPO, title, REPORT, "rita")
    await world.settle()
    await world.standin.add_labels(REPO, issue["number"], ["incident"], "alice")
    await world.settle()
    return int(issue["number"])


@dataclass(frozen=True)
class Answer:
    """What Baton did about one command comment."""

    comment_id: int
    replies: tuple[str, ...]  # Baton's comments answering it
    reactions: frozenset[str]  # Baton's reactions on it

    @property
    def reply(self) -> str:
        assert len(self.replies) == 1, self.replies
        return self.replies[0]


def answer_to(world: Stage, number: int, comment_id: int) -> Answer:
    marker = f"<!-- baton:reply comment:{comment_id} -->"
    comments = world.standin.comments(REPO, number)
    replies = tuple(
        c["body"] for c in comments if c["user"]["login"] == BOT and marker in c["body"]
    )
    said = next(c for c in comments if c["id"] == comment_id)
    reactions = frozenset(k for k in REACTION_CONTENTS if said["reactions"][k])
    return Answer(comment_id, replies, reactions)


async def say(world: Stage, number: int, body: str, author: str) -> Answer:
    """Post a comment as a person, let everything settle, and read Baton's answer."""
    comment = await world.standin.comment(REPO, number, body, author)
    await world.settle()
    return answer_to(world, number, int(comment["id"]))


def state_of(world: Stage, number: int) -> IncidentState:
    reading = read_card(world.standin.issue(REPO, number)["body"], card_key(world, number))
    assert reading.state is not None and not reading.tampered, reading
    return reading.state


def labels_of(world: Stage, number: int) -> set[str]:
    return {label["name"] for label in world.standin.issue(REPO, number)["labels"]}


def assignees_of(world: Stage, number: int) -> list[str]:
    return [a["login"] for a in world.standin.issue(REPO, number)["assignees"]]


def assert_taken(answer: Answer, *sentences: str) -> None:
    assert answer.reactions == {"eyes"}
    for sentence in sentences:
        assert sentence in answer.reply, answer.reply


def assert_refused(answer: Answer, *problems: str) -> None:
    assert answer.reactions == {"confused"}
    assert REFUSED_OPENING in answer.reply, answer.reply
    for problem in problems:
        assert problem in answer.reply, answer.reply


async def incident_with_ic(world: Stage, ic: str = "alice") -> int:
    number = await open_incident(world)
    assert_taken(await say(world, number, "/ic me", ic))
    return number


def with_severity_forged(body: str, severity: str) -> str:
    """The body with the hidden state's severity changed by hand, its MAC left as it was."""
    match = STATE_LINE.search(body)
    assert match is not None
    forged = json.loads(match["json"])
    forged["severity"] = severity
    return body[: match.start("json")] + json.dumps(forged) + body[match.end("json") :]


def form_labels() -> list[str]:
    """The labels the incident report form puts on the issues it opens."""
    return list(yaml.safe_load(FORM.read_text())["labels"])


async def queued(world: Stage, number: int, comments: Sequence[tuple[str, str]]) -> list[int]:
    """Post comments while the worker is stopped, so that they wait in the store together;
    then start it and let everything settle. Returns the comments' ids."""
    await world.service.worker.stop()
    ids = [
        int((await world.standin.comment(REPO, number, body, author))["id"])
        for author, body in comments
    ]
    await world.standin.settle()
    world.standin.reset_requests()
    world.service.worker.start()
    await world.settle()
    return ids


def answered(world: Stage, number: int) -> list[int]:
    """The comment ids Baton's replies answer, in the order the replies were posted."""
    return [
        int(key.removeprefix("comment:"))
        for c in world.standin.comments(REPO, number)
        if c["user"]["login"] == BOT
        for key in REPLY_KEY.findall(c["body"])
        if key.startswith("comment:")
    ]


# --- the sweep, with time moved by the test ------------------------------------------------------

PLANTED_REPORT = "Checkout fails with a 502.\n"


def declared(at: datetime, **fields: object) -> IncidentState:
    base = IncidentState(severity="sev3", ic="alice", declared_at=at, last_activity_at=at)
    return replace(base, **fields)  # type: ignore[arg-type]


def plant_incident(world: Stage, state: IncidentState, title: str = "Checkout is down") -> int:
    """An incident written straight into the stand-in's world: no webhooks, so it is fast."""
    standin = world.standin
    repo = standin.world.repo(REPO)
    assert repo is not None
    number = max(repo.issues, default=0) + 1
    card = render_card(state, CardView(title=title), card_key(world, number))
    now = standin.clock()
    author = standin.world.account("rita")
    assert author is not None
    repo.issues[number] = Issue(
        standin.world.next_id(),
        number,
        title,
        place_card(PLANTED_REPORT, card),
        author,
        now,
        now,
        labels=[standin.changes.ensure_label(repo, "incident")],
    )
    return number


def fresh_app(world: Stage) -> GitHubApp:
    """A new App client per sweep, as each `baton sweep` run has: its token cache follows the
    wall clock, which the fake clock leaves behind."""
    return github_app(world.settings, transport=world.standin.transport())


async def sweep(
    world: Stage,
    now: datetime,
    *,
    dry_run: bool = False,
    budget: int = 100,
    listings: ListingCache | None = None,
) -> SweepReport:
    return await sweep_installations(
        fresh_app(world),
        configs=ConfigCache(),
        key=state_key(world.settings),
        now=now,
        dry_run=dry_run,
        budget=OperationsBudget(budget),
        listings=listings,
    )
