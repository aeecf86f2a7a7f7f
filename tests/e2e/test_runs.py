"""Commands queued behind each other on one incident are handled as one run: decided in order on
one read of the issue, written back with one PATCH, every command answered on its own."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from app.demo.harness import REPO, Stage, stage
from tests.e2e.helpers import (
    BOT,
    BURST,
    OPEN_ISSUE,
    REACT,
    READ_COMMENTS,
    READ_ISSUE,
    REPLY,
    WRITE_ISSUE,
    FakeClock,
    answered,
    baton_requests,
    labels_of,
    open_incident,
    queued,
    route_list,
    state_of,
)


async def test_a_burst_of_commands_is_read_once_and_written_once(world: Stage) -> None:
    number = await open_incident(world)

    ids = await queued(world, number, BURST)

    requests = Counter(route_list(baton_requests(world)))
    assert requests[READ_ISSUE] == 1
    assert requests[WRITE_ISSUE] == 1
    assert requests[REACT] == len(BURST)
    assert requests[REPLY] == len(BURST)
    state = state_of(world, number)
    assert state.applied[-len(BURST) :] == tuple(ids)
    assert (state.ic, state.status, state.severity, state.liaison) == (
        "alice",
        "identified",
        "sev1",
        "bob",
    )
    assert [(s.login, s.area) for s in state.smes] == [("carol", "database")]
    assert state.last_update_at is not None
    assert "sev1" in " ".join(labels_of(world, number))
    assert world.standin.issue(REPO, number)["assignees"][0]["login"] == "alice"
    assert answered(world, number)[-len(BURST) :] == ids, "each command answered once, in order"


async def test_a_run_ends_where_an_issue_is_opened_and_the_next_reads_its_number(
    world: Stage,
) -> None:
    number = await open_incident(world)

    ids = await queued(
        world,
        number,
        (
            ("alice", "/ic me"),
            ("alice", "/resolved Rolled back."),
            ("alice", "/retro"),
            ("alice", "/note written after the retrospective was opened"),
        ),
    )

    state = state_of(world, number)
    assert state.status == "resolved"
    assert state.retro is not None
    requests = route_list(baton_requests(world))
    assert requests.count(OPEN_ISSUE) == 1, "one retrospective, and /retro links it"
    assert requests.count(READ_ISSUE) == 2, "read again once the retrospective has its number"
    assert requests.count(READ_COMMENTS) >= 1
    assert answered(world, number)[-4:] == ids
    retro_reply = world.standin.comments(REPO, number)[-2]["body"]
    assert f"#{state.retro}" in retro_reply, "/retro points at the retrospective just opened"
    assert ids[-1] in state.applied


async def test_commands_in_a_run_see_each_other_as_one_at_a_time_would(world: Stage) -> None:
    """A handoff offered and accepted in one run: the acceptance sees the offer."""
    number = await open_incident(world)
    await world.standin.comment(REPO, number, "/ic me", "alice")
    await world.settle()

    await queued(
        world,
        number,
        (("alice", "/handoff @bob Rolled back.\nNext: watch."), ("bob", "/accept")),
    )

    state = state_of(world, number)
    assert state.ic == "bob"
    assert state.pending_handoff is None
    assert [a["login"] for a in world.standin.issue(REPO, number)["assignees"]] == ["bob"]
    assert Counter(route_list(baton_requests(world)))[WRITE_ISSUE] == 1


# Commands a busy incident sees, some refused (mallory is no responder; a near miss).
POOL = (
    ("alice", "/ic me"),
    ("bob", "/ic me"),
    ("alice", "/handoff @bob Rolled back.\nNext: watch the queue."),
    ("bob", "/accept"),
    ("bob", "/decline off shift"),
    ("alice", "/cancel"),
    ("alice", "/status identified"),
    ("bob", "/status monitoring"),
    ("bob", "/severity sev1"),
    ("carol", "/severity sev2"),
    ("alice", "/liaison @bob"),
    ("carol", "/sme @dave database"),
    ("alice", "/note the pool is exhausted"),
    ("bob", "/update Payments fail for some customers."),
    ("alice", "/mitigated Rolled back."),
    ("alice", "/ack"),
    ("mallory", "/ic me"),
    ("alice", "/statu identified"),
    ("bob", "/resolved Fixed."),
)
COMMENT_IDS = re.compile(r"comment:\d+|issuecomment-\d+")


async def played(
    folder: Path, clock: FakeClock, comments: Sequence[tuple[str, str]], *, queue: bool
) -> tuple[object, ...]:
    """What an incident looks like after `comments`: posted one at a time, each handled before
    the next, or queued and handled in runs."""
    async with stage(database_url=f"sqlite:///{folder / 'baton.db'}", clock=clock) as world:
        number = await open_incident(world)
        if queue:
            await queued(world, number, comments)
        else:
            for author, body in comments:
                await world.standin.comment(REPO, number, body, author)
                await world.settle()
        state = asdict(replace(state_of(world, number), applied=()))
        issue = world.standin.issue(REPO, number)
        replies = [
            COMMENT_IDS.sub("comment", c["body"])
            for c in world.standin.comments(REPO, number)
            if c["user"]["login"] == BOT
        ]
        return (
            state,
            replies,
            sorted(labels_of(world, number)),
            [a["login"] for a in issue["assignees"]],
            issue["state"],
        )


@pytest.mark.parametrize("seed", range(4))
async def test_a_run_decides_as_one_command_at_a_time_would(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    comments = [rng.choice(POOL) for _ in range(12)]
    clock = FakeClock()  # both incidents live at the same moments
    (tmp_path / "one").mkdir()
    (tmp_path / "runs").mkdir()

    one_at_a_time = await played(tmp_path / "one", clock, comments, queue=False)
    in_runs = await played(tmp_path / "runs", clock, comments, queue=True)

    assert in_runs == one_at_a_time
