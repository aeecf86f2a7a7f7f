"""The GitHub client's pacing and rate-limit budget: commands go first when the budget is low."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

from app.github.client import (
    CONTENT_KEPT_FOR_COMMANDS,
    RequestBudget,
    WritePacer,
)
from tests.github.helpers import PacerClock


async def paced_writes(pacer: WritePacer, clock: PacerClock, count: int) -> list[float]:
    """The times at which `count` content-creating writes went out."""
    times: list[float] = []
    for _ in range(count):
        await pacer.before_write(content_creating=True)
        times.append(clock.now)
    return times


async def test_a_burst_goes_at_once_then_writes_are_a_second_apart() -> None:
    clock = PacerClock()
    times = await paced_writes(WritePacer(burst=20, clock=clock, sleep=clock.sleep), clock, 25)
    assert times[:20] == [0.0] * 20
    assert [round(b - a, 6) for a, b in itertools.pairwise(times[19:])] == [1.0] * 5


async def test_content_creation_stays_under_80_a_minute_and_500_an_hour() -> None:
    clock = PacerClock()
    pacer = WritePacer(burst=1000, interval=0, clock=clock, sleep=clock.sleep)
    times = await paced_writes(pacer, clock, 600)
    for i, start in enumerate(times):
        within_minute = sum(1 for t in times[i:] if t - start < 60)
        within_hour = sum(1 for t in times[i:] if t - start < 3600)
        assert within_minute <= 80 and within_hour <= 500


def test_the_request_budget_reads_githubs_headers() -> None:
    budget = RequestBudget()
    assert not budget.running_low(now=1000)
    budget.note({"x-ratelimit-remaining": "4000", "x-ratelimit-limit": "5000"})
    assert not budget.running_low(now=1000)
    budget.note(
        {"x-ratelimit-remaining": "420", "x-ratelimit-limit": "5000", "x-ratelimit-reset": "4600"}
    )
    assert budget.running_low(now=1000)
    assert budget.until_reset(now=1000) == timedelta(seconds=3600)
    assert not budget.running_low(now=4600), "a new hour: GitHub's count starts again"


def test_reminders_also_wait_when_little_content_creation_is_left() -> None:
    clock = PacerClock()
    pacer = WritePacer(burst=1000, interval=0, content_per_hour=60, clock=clock, sleep=clock.sleep)
    assert pacer.content_room() == 60
    asyncio.run(paced_writes(pacer, clock, 60 - CONTENT_KEPT_FOR_COMMANDS))
    assert pacer.content_room() == CONTENT_KEPT_FOR_COMMANDS
