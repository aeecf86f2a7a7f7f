"""Ten commands on each of many incidents (300 on 30 in the soak) while about a fifth of
GitHub's answers fail (SPEC §9): every command is applied once, nothing is lost, nothing is
posted twice."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

from app.demo.harness import REPO
from app.sandbox import Fault
from app.server.store import DeliveryStatus
from tests.e2e.helpers import FakeClock, state_of
from tests.reliability.helpers import (
    ISSUE_KEY,
    RandomFaults,
    built_stage,
    declare,
    reply_keys,
    report_figure,
    settle_through_reschedules,
    unfinished,
)

COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"

# The soak runs the full 300 commands; at GitHub's 80 content-creating requests a minute (Baton's
# pacer keeps to it) their 330 comments alone take over four minutes. CI runs 60.
INCIDENTS = 30 if os.environ.get("BATON_SOAK") == "1" else 6
# Ten commands per incident, each changing the incident, so each must leave a trace.
SCRIPT = (
    "/note step 1",
    "/sev 2",
    "/note step 3",
    "/status identified",
    "/note step 5",
    "/update Rolling back the deploy.",
    "/sev 1",
    "/note step 8",
    "/update Rollback done, watching.",
    "/note step 10",
)
TIMEOUT = 0.5  # Baton's HTTP timeout here; slow faults answer after twice that


async def test_ten_commands_per_incident_under_github_faults_apply_exactly_once(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    faults = RandomFaults(seed=9, rate=0.2, slow_delay=2 * TIMEOUT, enabled=False)
    async with built_stage(tmp_path, clock=clock, http_timeout=TIMEOUT) as world:
        world.standin.faults = faults
        numbers = [await declare(world, f"Incident {i}") for i in range(INCIDENTS)]
        await world.settle()
        faults.enabled = True
        started = time.perf_counter()

        commands: dict[int, list[int]] = {n: [] for n in numbers}
        for text in SCRIPT:
            for number in numbers:
                comment = await world.standin.comment(REPO, number, text, "alice")
                commands[number].append(int(comment["id"]))
        moves = await settle_through_reschedules(world, clock)
        faults.enabled = False
        elapsed = time.perf_counter() - started

        for number, ids in commands.items():
            state = state_of(world, number)
            assert state.applied[-len(ids) :] == tuple(ids), number
            assert (state.severity, state.status) == ("sev1", "identified")
            keys = reply_keys(world.standin, number)
            assert all(keys[f"comment:{i}"] == 1 for i in ids), keys
            assert max(keys.values()) == 1, f"a reply posted twice on #{number}: {keys}"
        issues = world.standin.issues(REPO)
        assert len(issues) == INCIDENTS, "no issue opened by Baton, none twice"
        assert not [i for i in issues if ISSUE_KEY.search(i["body"] or "")]
        counts = await world.service.store.counts()
        assert counts[DeliveryStatus.FAILED] == 0

        total = sum(faults.injected.values())
        report_figure(
            "github faults",
            f"{INCIDENTS * len(SCRIPT)} commands, {len(world.standin.requests)} requests, "
            f"{total} faults injected "
            f"{dict(sorted(faults.injected.items()))}, clock moved {moves} times, "
            f"{elapsed:.1f} s",
        )
        assert total >= 0.15 * len(world.standin.requests) * 0.8
        assert Counter(faults.injected).keys() >= {"502", "500", "429", "drop", "slow"}


async def test_a_primary_rate_limit_waits_for_its_reset(tmp_path: Path) -> None:
    clock = FakeClock()
    async with built_stage(tmp_path, clock=clock) as world:
        world.standin.faults.add(
            Fault(method="POST", route=COMMENTS, kind="rate_limit", retry_after=120)
        )
        number = await declare(world, "Checkout is down")
        await world.settle()
        assert world.standin.comments(REPO, number) == [], "waiting for the reset, not dropped"
        assert await unfinished(world) > 0

        clock.advance(seconds=125)
        world.service.worker.notify()
        await world.settle()

        assert reply_keys(world.standin, number).total() == 1
        assert await unfinished(world) == 0
