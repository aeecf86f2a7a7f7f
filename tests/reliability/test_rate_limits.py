"""Writes spaced and content-creating requests under 80 a minute per installation (SPEC §9,
GitHub's secondary rate limits)."""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.demo.harness import REPO
from app.github.client import Precedence, WritePacer
from app.sandbox.standin import CONTENT_CREATING_ROUTES
from tests.github.helpers import PacerClock
from tests.reliability.helpers import built_stage, declare, reply_keys, report_figure

MINUTE = 60.0


@pytest.fixture
def monotonic() -> PacerClock:
    return PacerClock(now=1000.0)


def most_in_a_window(moments: list[float], window: float = MINUTE) -> int:
    return max(
        (sum(1 for m in moments if start <= m < start + window) for start in moments), default=0
    )


async def write_moments(
    pacer: WritePacer, clock: PacerClock, writes: int, *, content_creating: bool
) -> list[float]:
    """When each of `writes` writes was let through, on the pacer's clock."""
    moments = []
    for _ in range(writes):
        await pacer.before_write(content_creating=content_creating)
        moments.append(clock.now)
    return moments


async def test_the_pacer_allows_a_burst_then_spaces_writes(monotonic: PacerClock) -> None:
    pacer = WritePacer(burst=5, interval=1.0, clock=monotonic, sleep=monotonic.sleep)
    moments = await write_moments(pacer, monotonic, 30, content_creating=False)

    assert moments[:5] == [moments[0]] * 5, "one command's few writes go at once"
    gaps = [b - a for a, b in itertools.pairwise(moments[4:])]
    assert all(gap >= 1.0 - 1e-9 for gap in gaps), gaps


async def test_the_pacer_keeps_content_creation_under_80_a_minute(
    monotonic: PacerClock,
) -> None:
    pacer = WritePacer(burst=5, interval=0.1, clock=monotonic, sleep=monotonic.sleep)
    moments = await write_moments(pacer, monotonic, 400, content_creating=True)

    assert most_in_a_window(moments) == 80
    assert moments[-1] - moments[0] >= 4 * MINUTE, "400 comments need at least five windows"


async def test_other_writes_do_not_use_the_content_budget(monotonic: PacerClock) -> None:
    pacer = WritePacer(burst=5, interval=0.1, clock=monotonic, sleep=monotonic.sleep)
    for _ in range(80):
        await pacer.before_write(content_creating=True)
    before = monotonic.now

    await pacer.before_write(content_creating=False)

    assert monotonic.now - before <= 0.1 + 1e-9, "a PATCH waits for spacing only"


async def test_when_the_budget_runs_low_commands_go_before_nudges(
    monotonic: PacerClock,
) -> None:
    pacer = WritePacer(burst=5, interval=0.0, clock=monotonic, sleep=monotonic.sleep)
    for _ in range(80):
        await pacer.before_write(content_creating=True)
    order: list[str] = []

    async def post(kind: str) -> None:
        await pacer.before_write(content_creating=True, nudge=kind == "nudge")
        order.append(kind)

    nudge = asyncio.create_task(post("nudge"))
    await asyncio.sleep(0)
    await post("command")
    await nudge

    assert order == ["command", "nudge"]


async def test_waiting_writes_go_card_first_then_replies_then_reactions() -> None:
    # Real time: the fake clock moves at each sleep, which would hand a waiting write its slot
    # before the others have asked.
    pacer = WritePacer(burst=1, interval=0.05)
    await pacer.before_write(content_creating=False)  # the burst is spent: the next ones wait
    order: list[Precedence] = []

    async def write(precedence: Precedence) -> None:
        await pacer.before_write(
            content_creating=precedence is Precedence.REPLY, precedence=precedence
        )
        order.append(precedence)

    # The least urgent ask first, as when one incident's reactions wait while another's card
    # and replies are decided.
    arriving = [Precedence.REACTION] * 3 + [Precedence.REPLY] * 3 + [Precedence.CARD]
    await asyncio.gather(*(write(precedence) for precedence in arriving))

    assert order == sorted(arriving)


async def test_a_reaction_does_not_wait_for_a_reply_held_by_the_content_allowance(
    monotonic: PacerClock,
) -> None:
    pacer = WritePacer(burst=5, interval=0.0, clock=monotonic, sleep=monotonic.sleep)
    for _ in range(80):
        await pacer.before_write(content_creating=True)
    order: list[str] = []

    async def write(kind: str, precedence: Precedence) -> None:
        await pacer.before_write(content_creating=kind == "reply", precedence=precedence)
        order.append(kind)

    await asyncio.gather(write("reply", Precedence.REPLY), write("reaction", Precedence.REACTION))

    assert order == ["reaction", "reply"]


async def test_the_content_budget_keeps_a_margin_for_jitter(monotonic: PacerClock) -> None:
    pacer = WritePacer(burst=5, interval=0.0, clock=monotonic, sleep=monotonic.sleep)
    moments = await write_moments(pacer, monotonic, 81, content_creating=True)

    assert moments[80] - moments[0] >= MINUTE + 1.0


SOAK = os.environ.get("BATON_SOAK") == "1"
LOG_LAG = timedelta(milliseconds=50)
COMMANDS = 240 if SOAK else 100


async def test_end_to_end_content_creation_stays_under_80_a_minute(tmp_path: Path) -> None:
    """A real pacer (the stage's, 0.05 s between writes) against the stand-in's request log."""
    async with built_stage(tmp_path, write_interval=0.05) as world:
        numbers = [await declare(world, f"Incident {i}") for i in range(4)]
        await world.settle()
        ids = [
            int((await world.standin.comment(REPO, numbers[i % 4], f"/note {i}", "alice"))["id"])
            for i in range(COMMANDS)
        ]
        await world.settle()

        creating = [
            r.at
            for r in world.standin.requests
            if r.method == "POST" and r.route in CONTENT_CREATING_ROUTES
        ]
        writes = sorted(
            r.at for r in world.standin.requests if r.method in ("POST", "PATCH", "DELETE")
        )
        keys = sum(
            (reply_keys(world.standin, n) for n in numbers),
            start=reply_keys(world.standin, numbers[0]),
        )
        assert all(keys[f"comment:{i}"] >= 1 for i in ids), "every command answered"
        assert len(creating) == COMMANDS + 4
        per_minute = most_in_a_window_at(creating)
        assert per_minute <= 80
        took = (creating[-1] - creating[0]).total_seconds()
        assert took >= MINUTE, "more than 80 comments cannot all go within one minute"
        report_figure(
            "rate-limited writes",
            f"{len(creating)} content-creating requests, at most {per_minute} in any minute, "
            f"{len(writes)} writes in {took:.1f} s",
        )


def most_in_a_window_at(moments: list[datetime]) -> int:
    """The most requests the stand-in logged within one minute, less the few milliseconds by
    which its log lags the pacer's decision (the next test shows why that matters)."""
    window = timedelta(seconds=MINUTE) - LOG_LAG
    return max(sum(1 for m in moments if start <= m < start + window) for start in moments)
