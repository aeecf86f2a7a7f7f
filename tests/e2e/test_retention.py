"""A running server deletes the done deliveries it no longer needs, payloads and all."""

from __future__ import annotations

import asyncio

from app.demo.harness import REPO, Stage
from app.server.store import DeliveryStatus
from tests.e2e.helpers import FakeClock

DONE = {DeliveryStatus.DONE}


async def done_ids(world: Stage) -> set[str]:
    return {d.delivery_id for d in await world.service.store.list_deliveries(DONE)}


async def restart(world: Stage) -> None:
    await world.stop()
    await world.start()


async def test_done_deliveries_are_pruned_once_older_than_the_retention_period(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    issue = await world.standin.open_issue(REPO, "Checkout is down", "It fails.", "rita")
    await world.standin.add_labels(REPO, issue["number"], ["incident"], "alice")
    await world.settle()
    handled = await done_ids(world)
    assert handled, "the declaration's deliveries are done"
    assert world.settings.retention_days == 7

    clock.advance(days=6, hours=23)
    await restart(world)  # pruning runs at start, then every hour
    await asyncio.sleep(0.2)
    kept = await done_ids(world)
    clock.advance(hours=2)
    await restart(world)
    async with asyncio.timeout(5):
        while await done_ids(world) & handled:
            await asyncio.sleep(0.02)

    assert kept == handled
