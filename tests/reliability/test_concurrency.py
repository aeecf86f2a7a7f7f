"""Work on one issue is serialised and kept in order; one slow issue does not hold up the others
(SPEC §9)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.demo.harness import REPO, Stage
from app.sandbox import Fault
from tests.e2e.helpers import BOT, REPLY_KEY, state_of
from tests.reliability.helpers import built_stage, declare, report_figure

ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
SLOW = 3.0  # seconds the slow issue's read takes


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Stage]:
    async with built_stage(tmp_path) as running:
        yield running


async def test_fifty_commands_on_one_issue_all_apply_in_delivery_order(world: Stage) -> None:
    number = await declare(world, "Checkout is down")
    await world.settle()

    comments = [
        await world.standin.comment(REPO, number, f"/note entry {n}", "alice") for n in range(50)
    ]
    await world.settle()

    ids = [int(c["id"]) for c in comments]
    assert list(state_of(world, number).applied[-50:]) == ids
    answered = [
        int(key.removeprefix("comment:"))
        for c in world.standin.comments(REPO, number)
        if c["user"]["login"] == BOT
        for key in REPLY_KEY.findall(c["body"])
        if key.startswith("comment:")
    ]
    assert answered == ids, "each reply once, in the order the commands were delivered"


async def test_a_slow_issue_does_not_hold_up_the_others(world: Stage) -> None:
    await declare(world, "Warm-up: reads the configuration and creates the labels")
    await world.settle()
    numbers = []
    for i in range(50):
        issue = await world.standin.open_issue(REPO, f"Outage {i}", "Down.\n", "rita")
        numbers.append(int(issue["number"]))
    await world.settle()
    world.standin.reset_requests()
    world.standin.faults.add(Fault(method="GET", route=ISSUE, kind="slow", delay=SLOW))

    for number in numbers:
        await world.standin.comment(REPO, number, "/declare sev2", "alice")
    await world.settle()

    replied_at = {
        int(r.path.split("/")[-2]): r.at
        for r in world.standin.requests
        if r.method == "POST" and r.route == COMMENTS
    }
    assert sorted(replied_at) == numbers, "every issue was declared"
    slow = max(replied_at, key=lambda n: replied_at[n])
    started = min(r.at for r in world.standin.requests if r.method == "GET" and r.route == ISSUE)
    others = [at for n, at in replied_at.items() if n != slow]
    assert (replied_at[slow] - started).total_seconds() >= SLOW
    assert max(others) < replied_at[slow], "the 49 others finished before the slow one"
    assert (max(others) - started).total_seconds() < SLOW
    report_figure(
        "one slow issue",
        f"49 issues declared in {(max(others) - started).total_seconds():.2f} s "
        f"while #{slow} took {(replied_at[slow] - started).total_seconds():.2f} s",
    )
