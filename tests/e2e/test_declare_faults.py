"""Declaring an incident while GitHub misbehaves: the state ends right, nothing is posted twice."""

from __future__ import annotations

from pathlib import Path

from app.demo.harness import REPO, Stage, stage
from app.incident.card import read_card
from app.sandbox import Fault
from app.server.store import DeliveryStatus
from tests.e2e.helpers import REPORT, FakeClock, card_key, open_incident

COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"


def assert_declared_once(world: Stage, number: int) -> None:
    issue = world.standin.issue(REPO, number)
    reading = read_card(issue["body"], card_key(world, number))
    assert reading.state is not None and reading.state.status == "investigating"
    assert issue["body"].endswith(REPORT)
    replies = [
        c for c in world.standin.comments(REPO, number) if c["user"]["login"] == "baton[bot]"
    ]
    assert len(replies) == 1, [c["body"][:60] for c in replies]


async def test_a_502_on_the_card_write_is_retried(world: Stage) -> None:
    world.standin.faults.add(Fault(method="PATCH", route=ISSUE, status=502))
    number = await open_incident(world)
    assert_declared_once(world, number)
    patches = world.standin.count(method="PATCH", route=ISSUE)
    assert patches == 2  # the 502, then the write that took


async def test_a_502_on_the_reply_is_not_blindly_retried(world: Stage) -> None:
    world.standin.faults.add(Fault(method="POST", route=COMMENTS, status=502))
    number = await open_incident(world)
    assert_declared_once(world, number)
    # After the ambiguous failure Baton looked for its reply before posting again.
    assert world.standin.count(method="GET", route=COMMENTS) == 1


async def test_a_reply_that_took_effect_before_the_connection_dropped_is_not_repeated(
    world: Stage,
) -> None:
    world.standin.faults.add(Fault(method="POST", route=COMMENTS, kind="drop"))
    number = await open_incident(world)
    assert_declared_once(world, number)
    assert world.standin.count(method="POST", route=COMMENTS) == 1


async def test_a_short_secondary_rate_limit_is_waited_out(world: Stage) -> None:
    world.standin.faults.add(
        Fault(method="PATCH", route=ISSUE, kind="secondary_rate_limit", retry_after=1)
    )
    number = await open_incident(world)
    assert_declared_once(world, number)


async def test_a_long_rate_limit_reschedules_the_delivery(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    world.standin.faults.add(
        Fault(method="PATCH", route=ISSUE, kind="secondary_rate_limit", retry_after=120)
    )
    issue = await world.standin.open_issue(REPO, "Checkout is down", REPORT, "rita")
    await world.settle()
    await world.standin.add_labels(REPO, issue["number"], ["incident"], "alice")
    await world.settle()
    assert world.standin.comments(REPO, issue["number"]) == []  # waiting, not dropped

    clock.advance(seconds=121)
    world.service.worker.notify()
    await world.settle()
    assert_declared_once(world, issue["number"])


async def test_deliveries_stored_before_a_restart_are_processed_after_it(tmp_path: Path) -> None:
    async with stage(database_url=f"sqlite:///{tmp_path / 'baton.db'}") as world:
        issue = await world.standin.open_issue(REPO, "Checkout is down", REPORT, "rita")
        await world.settle()
        # Baton stores the delivery and acknowledges it, then stops before processing it.
        await world.service.worker.stop()
        await world.standin.add_labels(REPO, issue["number"], ["incident"], "alice")
        await world.standin.settle()
        assert (await world.service.store.counts())[DeliveryStatus.PENDING] == 1
        assert world.standin.comments(REPO, issue["number"]) == []

        await world.stop()
        await world.start()
        await world.settle()

        assert_declared_once(world, issue["number"])
        assert (await world.service.store.counts())[DeliveryStatus.PENDING] == 0


async def test_a_redelivered_delivery_changes_nothing_more(world: Stage) -> None:
    number = await open_incident(world)
    hookshot = world.standin.hookshot
    labeled = next(d for d in hookshot.hook_deliveries if d.action == "labeled")
    world.standin.reset_requests()

    hookshot.redeliver(labeled)  # GitHub's redelivery: the same X-GitHub-Delivery guid
    await world.settle()

    assert world.standin.deliveries[-1].redelivery
    assert world.standin.deliveries[-1].status_code == 202
    assert_declared_once(world, number)
    assert world.standin.requests == []
