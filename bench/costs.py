"""GitHub requests per operation, counted in the stand-in's request log (in-process stage).

Each operation is played once on a warm-up incident, so caches are filled and labels exist,
then measured on a fresh one. The minimum is one write per visible effect (the reaction that
acknowledges a command, the card, a comment, a new issue), plus the reads whose content is the
operation's input and exists only on GitHub: the lists a sweep walks (installations, their
repositories, the open incidents' pages) and, in a process that has not read them yet, the two
configuration files; the comments a retrospective is built from (its participants and the links
of its timeline); and for a command, the issue as GitHub has it (no process keeps a copy:
docs/reliability.md) and the comments written since the newest command the card records as
applied, since commands take effect in the order they were written and an earlier one whose
delivery is late is found only there. People comment some seconds after Baton's last change,
as they do.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from app.demo.harness import MovableClock, Stage, stage
from app.sandbox.standin import TOKEN_ROUTE, WRITE_METHODS
from tests.e2e.helpers import (
    A_PERSONS_WHILE,
    BURST,
    declared,
    incident_with_ic,
    open_incident,
    plant_incident,
    queued,
    say,
    sweep,
)

Scene = Callable[[Stage], Awaitable[int]]  # sets the scene, returns the incident's number
Act = Callable[[Stage, int], Awaitable[object]]


@dataclass(frozen=True)
class Cost:
    operation: str
    requests: int
    not_modified: int  # 304 answers to conditional requests: GitHub does not count them
    reads: int
    writes: int
    content_creating: int
    minimum: int  # writes the visible effects need
    visible_effects: str

    @property
    def over_minimum(self) -> int:
        return self.requests - self.minimum


@dataclass(frozen=True)
class Operation:
    name: str
    scene: Scene
    act: Act
    minimum: int
    visible_effects: str


def a_person_later(world: Stage) -> None:
    """People comment some seconds after Baton's last change."""
    assert isinstance(world.clock, MovableClock)
    world.clock.advance(seconds=A_PERSONS_WHILE)


def by(author: str, *comments: str) -> Act:
    async def act(world: Stage, number: int) -> None:
        for body in comments:
            a_person_later(world)
            await say(world, number, body, author)

    return act


async def opened(world: Stage) -> int:
    issue = await world.standin.open_issue("acme/web", "Checkout is down", "It fails.\n", "rita")
    await world.settle()
    return int(issue["number"])


async def labelled_incident(world: Stage, number: int) -> None:
    await world.standin.add_labels("acme/web", number, ["incident"], "alice")
    await world.settle()


async def handoff_round_trip(world: Stage, number: int) -> None:
    await by("alice", "/handoff @bob Rolled back 4812. Next: watch the queue.")(world, number)
    await by("bob", "/accept")(world, number)


async def burst(world: Stage, number: int) -> None:
    a_person_later(world)
    await queued(world, number, BURST)


TAKEN = "card, reply, reaction; the issue and the comments since the last command"
OPERATIONS = (
    Operation("declare (label `incident`)", opened, labelled_incident, 2, "card, first response"),
    Operation("/ic me", open_incident, by("bob", "/ic me"), 5, TAKEN),
    Operation("/status identified", open_incident, by("bob", "/status identified"), 5, TAKEN),
    Operation("/note text", open_incident, by("bob", "/note Paged the vendor."), 5, TAKEN),
    Operation(
        "/update text (by the IC)", incident_with_ic, by("alice", "/update Cause found."), 5, TAKEN
    ),
    Operation("/severity sev1", open_incident, by("bob", "/severity sev1"), 5, TAKEN),
    Operation(
        "handoff round trip (/handoff, /accept)",
        incident_with_ic,
        handoff_round_trip,
        10,
        "2 x " + TAKEN,
    ),
    Operation(
        "/resolved text (with retrospective)",
        open_incident,
        by("bob", "/resolved Config reverted."),
        6,
        "retrospective issue, card, reply, reaction; the issue and the comments read",
    ),
    Operation(
        f"{len(BURST)} commands queued on one incident (one run)",
        open_incident,
        burst,
        2 * len(BURST) + 3,
        f"card, {len(BURST)} x reply, {len(BURST)} x reaction; the issue and the comments since"
        " the last command",
    ),
)


# Not part of any one operation: an installation token is fetched about once an hour, and the
# server checks GitHub's delivery log for missed deliveries at start and every 10 minutes.
BACKGROUND_ROUTES = frozenset({TOKEN_ROUTE, "/app/hook/deliveries"})


def counted(world: Stage, operation: str, minimum: int, effects: str) -> Cost:
    log = [r for r in world.standin.requests if r.route not in BACKGROUND_ROUTES]
    writes = sum(1 for r in log if r.method in WRITE_METHODS)
    return Cost(
        operation,
        requests=len(log),
        not_modified=sum(1 for r in log if r.status == 304),
        reads=len(log) - writes,
        writes=writes,
        content_creating=world.standin.count(content_creating=True),
        minimum=minimum,
        visible_effects=effects,
    )


async def measure(world: Stage, operation: Operation) -> Cost:
    for _ in range(2):  # the first pass warms the caches; the second is measured
        number = await operation.scene(world)
        world.standin.reset_requests()
        await operation.act(world, number)
    return counted(world, operation.name, operation.minimum, operation.visible_effects)


async def quiet_sweeps(world: Stage, incidents: int) -> list[Cost]:
    """A cold `baton sweep` (a new process: it learns the App's installations, repositories
    and configuration first; the App's bot login only when it nudges), then the server's sweep,
    run twice: the second run is the one every interval pays while nothing changes."""
    start = world.clock()
    for _ in range(incidents):
        plant_incident(world, declared(start, nudges=("escalate",)))
    lists = 2 + -(-incidents // 100)  # installations, repositories, pages of 100 incidents
    world.standin.reset_requests()
    await sweep(world, start)
    cold = counted(
        world,
        f"`baton sweep` of {incidents:,} quiet incidents (cold)",
        lists + 2,
        f"none; {lists} lists read, 2 configuration files",
    )
    await world.service.sweep.run_once()
    world.standin.reset_requests()
    await world.service.sweep.run_once()
    warm = counted(
        world,
        f"server sweep of {incidents:,} quiet incidents (next run)",
        lists,
        f"none; {lists} lists read",
    )
    return [cold, warm]


async def measure_costs(quiet_incidents: int = 1000) -> list[dict[str, object]]:
    costs = []
    with tempfile.TemporaryDirectory() as folder:
        async with stage(
            database_url=f"sqlite:///{Path(folder) / 'costs.db'}", clock=MovableClock()
        ) as world:
            for operation in OPERATIONS:
                costs.append(await measure(world, operation))
        async with stage(
            database_url=f"sqlite:///{Path(folder) / 'sweep.db'}", clock=MovableClock()
        ) as world:
            costs += await quiet_sweeps(world, quiet_incidents)
    return [{**asdict(cost), "over_minimum": cost.over_minimum} for cost in costs]
