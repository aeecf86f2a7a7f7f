"""What each command costs in GitHub requests, once the caches are warm.

`COSTS` is both the expectation the tests assert and the source of docs/costs.md
(`costs_markdown()` renders the page; a test keeps the file equal). Regenerate the page with:
python -c "from tests.e2e.test_request_costs import costs_markdown as m; print(m(), end='')" \
> docs/costs.md
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.demo.harness import Stage
from app.sandbox.standin import CONTENT_CREATING_ROUTES, WRITE_METHODS
from tests.e2e.helpers import (
    A_PERSONS_WHILE,
    CHECK_ASSIGNABLE,
    OPEN_ISSUE,
    REACT,
    READ_COMMENTS,
    READ_ISSUE,
    REPLY,
    WRITE_ISSUE,
    FakeClock,
    baton_requests,
    open_incident,
    route_list,
    say,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "costs.md"
MOST_CONTENT_CREATING = 3


@dataclass(frozen=True)
class Cost:
    """One command comment: what comes before it, who writes it, what it costs."""

    author: str
    body: str
    requests: tuple[str, ...]  # "METHOD route", in the order Baton sends them
    before: tuple[tuple[str, str], ...] = ()  # (author, comment) that set the scene

    @property
    def reads(self) -> int:
        return sum(1 for r in self.requests if r.split()[0] not in WRITE_METHODS)

    @property
    def writes(self) -> int:
        return len(self.requests) - self.reads

    @property
    def content_creating(self) -> int:
        return sum(
            1
            for r in self.requests
            if r.split()[0] == "POST" and r.split()[1] in CONTENT_CREATING_ROUTES
        )


IC_ALICE = (("alice", "/ic me"),)
HANDOFF_TO_BOB = (*IC_ALICE, ("alice", "/handoff @bob"))
RESOLVED = (("bob", "/resolved"),)
# The issue as GitHub has it now (one read per run of deliveries; no process keeps a copy).
# Commands take effect in the order they were written: the comments since the newest applied
# command are listed, so that any whose delivery is late or lost is decided first.
LOADED = (READ_ISSUE, READ_COMMENTS)
TAKEN = (*LOADED, WRITE_ISSUE, REPLY, REACT)
# A target whose role is `triage` or above has explicit access, so can be assigned; `read` (or
# none) is asked about, because a public repository reports `read` for everyone.
HANDING_OVER = TAKEN
HANDING_OVER_TO_A_READER = (*LOADED, CHECK_ASSIGNABLE, WRITE_ISSUE, REPLY, REACT)
ONLY_WORDS = (*LOADED, REPLY, REACT)

COSTS: dict[str, Cost] = {
    "/ack": Cost("bob", "/ack", TAKEN),
    "/ic me": Cost("bob", "/ic me", TAKEN),
    "/ic @user": Cost("alice", "/ic @bob", HANDING_OVER, IC_ALICE),
    "/handoff @user + notes": Cost(
        "alice", "/handoff @bob Rolled back.\nNext: watch.", HANDING_OVER, IC_ALICE
    ),
    "/handoff @user (a user with the read role)": Cost(
        "alice", "/handoff @dave", HANDING_OVER_TO_A_READER, IC_ALICE
    ),
    "/accept": Cost("bob", "/accept", TAKEN, HANDOFF_TO_BOB),
    "/decline reason": Cost("bob", "/decline off shift", TAKEN, HANDOFF_TO_BOB),
    "/cancel": Cost("alice", "/cancel", TAKEN, HANDOFF_TO_BOB),
    "/liaison @user": Cost("alice", "/liaison @bob", TAKEN, IC_ALICE),
    "/liaison me": Cost("bob", "/liaison me", TAKEN),
    "/sme @user area": Cost("bob", "/sme @carol database", TAKEN),
    "/sme remove @user": Cost("bob", "/sme remove @carol", TAKEN, (("bob", "/sme @carol db"),)),
    "/severity sevN": Cost("bob", "/severity sev1", TAKEN),
    "/sev N": Cost("bob", "/sev 2", TAKEN),
    "/status identified": Cost("bob", "/status identified", TAKEN),
    "/mitigated text": Cost("bob", "/mitigated Traffic drained.", TAKEN),
    "/resolved text": Cost(
        "bob",
        "/resolved Config reverted.",
        (*LOADED, OPEN_ISSUE, WRITE_ISSUE, REPLY, REACT),
    ),
    "/update text": Cost("alice", "/update Cause found.", TAKEN, IC_ALICE),
    "/note text": Cost("bob", "/note Paged the vendor.", TAKEN),
    "/note HH:MM text": Cost("bob", "/note 00:00 Paged the vendor.", TAKEN),
    "/snooze 2h": Cost("alice", "/snooze 2h", TAKEN, IC_ALICE),
    "/confirm": Cost("rita", "/confirm", TAKEN, RESOLVED),
    "/close reason": Cost("alice", "/close phoned them", TAKEN, IC_ALICE),
    "/reopen": Cost("bob", "/reopen", TAKEN, RESOLVED),
    "/help": Cost("mallory", "/help", ONLY_WORDS),
    "refused (/ic me without a role)": Cost("mallory", "/ic me", ONLY_WORDS),
    "near miss (/hanoff)": Cost("bob", "/hanoff @carol", ONLY_WORDS),
    "quoted (> /ic me)": Cost("bob", "> /ic me", ()),
}


@pytest.fixture(params=sorted(COSTS), ids=lambda name: name.replace(" ", "_"))
def command(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def measured(world: Stage, clock: FakeClock, cost: Cost) -> list[str]:
    """Play the scene on a warm-up incident first, so that caches are filled and labels exist,
    then on a fresh incident, and return the requests of the command itself. People write
    their comments some seconds after Baton's last change."""
    for _ in range(2):
        number = await open_incident(world)
        for author, body in cost.before:
            clock.advance(seconds=A_PERSONS_WHILE)
            await say(world, number, body, author)
        clock.advance(seconds=A_PERSONS_WHILE)
        world.standin.reset_requests()
        await say(world, number, cost.body, cost.author)
    return route_list(baton_requests(world))


async def test_each_command_costs_exactly_its_requests(
    timed_world: Stage, clock: FakeClock, command: str
) -> None:
    world = timed_world
    cost = COSTS[command]
    observed = await measured(world, clock, cost)
    assert observed == list(cost.requests)
    assert world.standin.count(content_creating=True) == cost.content_creating
    assert cost.content_creating <= MOST_CONTENT_CREATING
    reads = Counter(r.path for r in baton_requests(world) if r.method == "GET")
    assert [path for path, times in reads.items() if times > 1] == []


_DOC_INTRO = """\
# What a command costs in GitHub requests

<!-- Generated from tests/e2e/test_request_costs.py (COSTS); do not edit by hand. Regenerate:
python -c "from tests.e2e.test_request_costs import costs_markdown as m; print(m(), end='')" \\
> docs/costs.md -->

GitHub limits an installation's requests, and more strictly its *content-creating* requests
(issues and comments). This page lists what one command comment costs once Baton's caches are
warm: the repository's configuration (kept 60 s per process), its label list (read once per
process), and each person's repository role (kept briefly). The end-to-end tests measure every
row against the GitHub stand-in and fail when a command costs anything else.

How requests are counted:

- *reads* are `GET`s; *writes* are `POST`, `PATCH`, `PUT` and `DELETE`.
- *content-creating* requests are the `POST`s that create an issue or a comment, as the
  stand-in counts them (`count(content_creating=True)`). A reaction is a `POST` and counts as
  a write, but not as content-creating. No command makes more than 3 content-creating requests.
- The installation token is fetched once an hour and is not counted.
- Within one command no resource is read twice.

The first command in a repository, or one a person sends for the first time in a while, costs
a few reads more (configuration files, the label list, the person's role); a severity or status
label used for the first time costs one `POST /repos/{owner}/{repo}/labels`.

Installing Baton on a repository, or adding a repository to its installation, costs, per
repository: its configuration files (2 reads), one listing of its labels (1 read per 100
labels), and one `POST /repos/{owner}/{repo}/labels` per Baton label it lacks: 13 writes on a
repository that has none of them (the incident label, the four severities, the five statuses,
the retrospective, stale and action-item labels), none of them content-creating.

A command that would make someone the assignee (`/ic @user`, `/handoff @user`) asks GitHub
whether they can be assigned (`GET /repos/{owner}/{repo}/assignees/{assignee}`) only when their
role is `read` or none: `triage` and above are only ever granted explicitly, and explicit access
is what makes a user assignable, while a public repository reports `read` for everyone.

Every command reads the issue once (`GET …/issues/{issue_number}`): it is decided on the issue
as GitHub has it, since no process keeps a copy of it between commands. Before, each process
remembered the issue from its last read or write and a command that changed only the card read
nothing; that saved one read but decided from a private copy, which several processes cannot
share. If Baton's write undoes a person's edit made between its read and its write, the
delivery of that write shows it and the person's text is put back (one more `PATCH`, and only
then; docs/reliability.md, "What Baton knows of an issue").

Commands that queue up behind each other on one incident (several people typing at once, or
the backlog a GitHub outage leaves) are handled as one run: one read of the issue and one
`PATCH` for all of them, and a reaction and a reply for each (tests/e2e/test_runs.py).

Commands take effect in the order they were written, whatever order their deliveries arrive
in: before deciding a command, Baton lists the incident's comments written since the newest
command it applied (`GET …/issues/{issue_number}/comments?since=…`, one read per run, the one
`/resolved` needs for its timeline) and first decides any earlier command comment it has
neither applied nor answered, whose delivery is late or lost (tests/e2e/test_command_order.py).

Not counted here because they cost nothing: a comment without a command line, a command
quoted (`>`), fenced or inside an HTML comment (the parser decides without asking GitHub),
an edited comment (`issue_comment.edited` is acknowledged and dropped: editing a comment never
runs its commands again), and a comment on a pull request.

| command | requests, in order | reads | writes | content-creating |
| --- | --- | --- | --- | --- |
"""


def costs_markdown() -> str:
    """The whole of docs/costs.md, rendered from `COSTS`."""
    rows = [
        f"| `{name}` | {'<br>'.join(f'`{r}`' for r in cost.requests) or 'none'} "
        f"| {cost.reads} | {cost.writes} | {cost.content_creating} |"
        for name, cost in COSTS.items()
    ]
    return _DOC_INTRO + "\n".join(rows) + "\n"


def test_the_costs_page_matches_the_measured_costs() -> None:
    assert DOC.read_text(encoding="utf-8") == costs_markdown()
