"""Deliveries GitHub failed to make are asked for again (GitHub itself never retries them)."""

from __future__ import annotations

from app.demo.harness import REPO, Stage
from app.jobs.redelivery import Redelivery
from app.sandbox import WebhookSink
from tests.e2e.helpers import FakeClock

ATTEMPTS_ROUTE = "/app/hook/deliveries/{delivery_id}/attempts"


class FailingSink:
    """Baton unreachable (502 from a proxy) for the next `failures` deliveries."""

    def __init__(self, inner: WebhookSink, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    async def send(self, headers: dict[str, str], body: bytes) -> int:
        if self.failures > 0:
            self.failures -= 1
            return 502
        return await self.inner.send(headers, body)


async def label_while_baton_is_unreachable(world: Stage, failures: int) -> int:
    issue = await world.standin.open_issue(REPO, "Checkout is down", "It fails.", "rita")
    await world.settle()
    sink = world.standin.hookshot.sink
    assert sink is not None
    world.standin.hookshot.sink = FailingSink(sink, failures)
    await world.standin.add_labels(REPO, issue["number"], ["incident"], "alice")
    await world.settle()
    return int(issue["number"])


def redelivery(world: Stage, clock: FakeClock) -> Redelivery:
    return Redelivery(world.service.github, world.service.store, clock=clock)


async def test_a_missed_delivery_is_asked_for_once_and_then_processed(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    number = await label_while_baton_is_unreachable(world, failures=1)
    assert world.standin.comments(REPO, number) == [], "the labelled delivery never arrived"
    check = redelivery(world, clock)

    [guid] = await check.check()
    await world.settle()

    assert world.standin.count(route=ATTEMPTS_ROUTE) == 1
    assert [d.delivery_id for d in world.standin.deliveries if d.redelivery] == [guid]
    assert "baton:card:start" in world.standin.issue(REPO, number)["body"]
    clock.advance(minutes=10)
    assert await check.check() == []
    assert world.standin.count(route=ATTEMPTS_ROUTE) == 1


async def test_a_guid_is_asked_for_at_most_once_per_process(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    # The first attempt and the redelivery both fail.
    number = await label_while_baton_is_unreachable(world, failures=2)
    check = redelivery(world, clock)

    assert len(await check.check()) == 1
    await world.settle()
    clock.advance(minutes=10)
    assert await check.check() == []

    assert world.standin.count(route=ATTEMPTS_ROUTE) == 1
    assert world.standin.comments(REPO, number) == []


async def test_delivered_and_stored_deliveries_are_left_alone(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    await label_while_baton_is_unreachable(world, failures=0)

    assert await redelivery(world, clock).check() == []
    assert world.standin.count(route=ATTEMPTS_ROUTE) == 0


async def test_missed_deliveries_are_asked_for_oldest_first(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    number = await label_while_baton_is_unreachable(world, failures=4)
    for body in ("/sev 1", "/sev 2", "/sev 4"):
        clock.advance(seconds=5)
        await world.standin.comment(REPO, number, body, "alice")
    await world.settle()
    missed = [d.delivery_id for d in world.standin.deliveries if d.status_code == 502]
    assert len(missed) == 4

    asked = await redelivery(world, clock).check()
    await world.settle()

    assert asked == missed
    assert [d.delivery_id for d in world.standin.deliveries if d.redelivery] == missed
