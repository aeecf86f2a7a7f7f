"""Commands on one incident take effect in the order they were written, whatever order their
deliveries arrive in (after a crash, missed deliveries may come back newest first; deliveries
sent at the same moment reach the store in any order)."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from app.demo.harness import REPO, Stage, stage
from app.sandbox.webhooks import HookDelivery
from tests.e2e.helpers import answered, open_incident, state_of


async def written_unheard(world: Stage, number: int, bodies: Sequence[str]) -> list[HookDelivery]:
    """Post comments while Baton is unreachable: their deliveries, oldest first."""
    hookshot = world.standin.hookshot
    sink, hookshot.sink = hookshot.sink, None
    sent = len(hookshot.hook_deliveries)
    for body in bodies:
        await world.standin.comment(REPO, number, body, "alice")
    await world.standin.settle()
    hookshot.sink = sink
    return [d for d in hookshot.hook_deliveries[sent:] if d.event == "issue_comment"]


async def test_commands_delivered_newest_first_end_at_the_newest(world: Stage) -> None:
    number = await open_incident(world)
    deliveries = await written_unheard(world, number, ["/sev 1", "/sev 2", "/sev 4"])

    for delivery in reversed(deliveries):  # each handled before the next arrives
        world.standin.hookshot.redeliver(delivery)
        await world.settle()

    state = state_of(world, number)
    assert state.severity == "sev4"
    ids = [json.loads(d.body)["comment"]["id"] for d in deliveries]
    assert Counter(answered(world, number)) == Counter(ids), "each command answered once"
    assert [i for i in state.applied if i in ids] == ids, "applied in the order written"


@pytest.fixture
async def busy_world(tmp_path: Path) -> AsyncIterator[Stage]:
    """Hundreds of replies in a few seconds: GitHub's allowance of content-creating requests
    is not what these tests are about (tests/e2e/test_rate_limit_priority.py is)."""
    database = f"sqlite:///{tmp_path / 'baton.db'}"
    async with stage(database_url=database, content_per_minute=10**6) as running:
        yield running


@pytest.mark.parametrize("seed", range(4))
async def test_fifty_shuffled_deliveries_end_at_the_last_written_command(
    busy_world: Stage, seed: int
) -> None:
    world = busy_world
    rng = random.Random(seed)
    number = await open_incident(world)
    for _ in range(5):  # rounds on the same incident
        severities = [rng.choice(("sev1", "sev2", "sev3", "sev4")) for _ in range(50)]
        deliveries = await written_unheard(world, number, [f"/severity {s}" for s in severities])
        rng.shuffle(deliveries)

        for delivery in deliveries:
            world.standin.hookshot.redeliver(delivery)
        await world.settle()

        state = state_of(world, number)
        assert state.severity == severities[-1]
        ids = [json.loads(d.body)["comment"]["id"] for d in deliveries]
        replies = Counter(answered(world, number))
        assert all(replies[i] == 1 for i in ids), "every command answered, once"
