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

from app.demo.harness import REPO, Stage
from app.sandbox.standin import CONTENT_CREATING_ROUTES, WRITE_METHODS
from tests.e2e.test_commands import say
from tests.e2e.test_declare import baton_requests, open_incident, route_list

DOC = Path(__file__).resolve().parents[2] / "docs" / "costs.md"
MOST_CONTENT_CREATING = 3

READ_ISSUE = "GET /repos/{owner}/{repo}/issues/{issue_number}"
READ_ROLE = "GET /repos/{owner}/{repo}/collaborators/{username}/permission"
CHECK_ASSIGNABLE = "GET /repos/{owner}/{repo}/assignees/{assignee}"
REACT = "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"
WRITE_ISSUE = "PATCH /repos/{owner}/{repo}/issues/{issue_number}"
REPLY = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
OPEN_ISSUE = "POST /repos/{owner}/{repo}/issues"
LIST_ISSUES = "GET /repos/{owner}/{repo}/issues"


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
TAKEN = (READ_ISSUE, REACT, WRITE_ISSUE, REPLY)
ONLY_WORDS = (READ_ISSUE, REACT, REPLY)

COSTS: dict[str, Cost] = {
    "/ack": Cost("bob", "/ack", ()),
}


@pytest.fixture(params=sorted(COSTS), ids=lambda name: name.replace(" ", "_"))
def command(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def measured(world: Stage, cost: Cost) -> list[str]:
    """Play the scene on a warm-up incident first, so that caches are filled and labels exist,
    then on a fresh incident, and return the requests of the command itself."""
    for _ in range(2):
        number = await open_incident(world)
        for author, body in cost.before:
            await say(world, number, body, author)
        world.standin.reset_requests()
        await say(world, number, cost.body, cost.author)
    return route_list(baton_requests(world))


async def test_each_command_costs_exactly_its_requests(world: Stage, command: str) -> None:
    cost = COSTS[command]
    observed = await measured(world, cost)
    print(f"{command!r}: {observed}")
    assert observed == list(cost.requests)
    assert world.standin.count(content_creating=True) == cost.content_creating
    assert cost.content_creating <= MOST_CONTENT_CREATING
    reads = Counter(r.path for r in baton_requests(world) if r.method == "GET")
    assert [path for path, times in reads.items() if times > 1] == []
