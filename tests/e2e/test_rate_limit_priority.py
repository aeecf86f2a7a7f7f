"""Writes wait in the order people need them: commands before reminders when the rate limit runs
low, and a card before its replies before the reactions."""

from __future__ import annotations

from app.demo.harness import REPO, Stage, stage
from app.entry.credentials import state_key
from app.jobs.server_sweep import ServerSweep
from app.server.store import DeliveryStatus
from tests.e2e.helpers import FakeClock, open_incident
from tests.reliability.helpers import declare

WRITE_KINDS = {  # in the order a person needs them
    "/repos/{owner}/{repo}/issues/{issue_number}": "card",
    "/repos/{owner}/{repo}/issues/{issue_number}/comments": "reply",
    "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions": "reaction",
}


def leave_requests(world: Stage, left: int) -> None:
    """Set GitHub's count of the installation's requests this hour so that `left` remain."""
    (installation,) = world.standin.world.installations
    window = world.standin._rate_limits.window(f"installation:{installation}", "core")
    window.used = window.limit - left


def bot_comments(world: Stage, number: int) -> list[str]:
    return [
        c["body"]
        for c in world.standin.comments(REPO, number)
        if c["user"]["login"] == "baton[bot]"
    ]


def server_sweep(world: Stage, clock: FakeClock) -> ServerSweep:
    """The server's sweep on the stage's service, with the test's clock."""
    service = world.service
    return ServerSweep(
        github=service.github,
        store=service.store,
        notify=service.worker.notify,
        key=state_key(world.settings),
        clock=clock,
    )


async def test_a_low_rate_limit_holds_reminders_back_but_not_commands(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    number = await open_incident(world)
    clock.advance(minutes=20)  # nobody took the IC role: a reminder is due
    leave_requests(world, 60)

    await world.standin.comment(REPO, number, "/note the payment provider is paged", "alice")
    await world.settle()
    assert "Noted for the timeline" in bot_comments(world, number)[-1], "the command went first"
    before = len(bot_comments(world, number))

    service = world.service
    sweep = server_sweep(world, clock)
    report = await sweep.run_once()
    await world.settle()
    assert len(bot_comments(world, number)) == before, "the reminder waits"
    assert report.deferred == [f"{REPO}#{number}"]

    leave_requests(world, 4000)  # a new hour
    clock.advance(hours=1, minutes=1)
    await sweep.run_once()
    await world.settle()
    assert (await service.store.counts())[DeliveryStatus.PENDING] == 0
    assert "/ic me" in bot_comments(world, number)[-1]


async def test_a_reminder_already_queued_is_rescheduled_while_the_limit_is_low(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    number = await open_incident(world)
    clock.advance(minutes=20)
    service = world.service
    await service.worker.stop()  # the sweep queues the reminder; the limit drops before it runs
    await server_sweep(world, clock).run_once()
    leave_requests(world, 60)
    await world.stop()
    await world.start()
    await world.settle()

    counts = await world.service.store.counts()
    assert counts[DeliveryStatus.PENDING] == 1, "rescheduled, not dropped"
    before = len(bot_comments(world, number))

    leave_requests(world, 4000)
    clock.advance(hours=1, minutes=1)
    world.service.worker.notify()
    await world.settle()
    assert len(bot_comments(world, number)) == before + 1
    assert (await world.service.store.counts())[DeliveryStatus.PENDING] == 0


async def test_card_changes_go_before_replies_and_replies_before_reactions() -> None:
    """A burst of 24 commands on 3 incidents with the real pacer: every card changes before the
    first reaction, and each incident's answers go out before its reactions, which only
    acknowledge."""
    async with stage(write_interval=0.05) as world:
        numbers = [await declare(world, f"Incident {i}") for i in range(3)]
        await world.settle()
        await world.service.worker.stop()  # the commands arrive together, as a backlog
        logged = len(world.standin.requests)
        incident_of = {}
        for i in range(24):
            number = numbers[i % 3]
            posted = await world.standin.comment(REPO, number, f"/update step {i}", "alice")
            incident_of[f"/repos/{REPO}/issues/comments/{posted['id']}/reactions"] = number
        await world.standin.settle()
        world.service.worker.start()
        await world.settle()

        writes = [
            (WRITE_KINDS[r.route], incident_of.get(r.path) or int(r.path.split("/")[5]))
            for r in world.standin.requests[logged:]
            if r.method in ("POST", "PATCH") and r.route in WRITE_KINDS
        ]
        kinds = [kind for kind, _ in writes]
        assert kinds.count("card") == 3 and kinds.count("reaction") == 24
        assert kinds[:3] == ["card"] * 3, kinds
        for number in numbers:
            own = [kind for kind, on in writes if on == number]
            assert own == ["card"] + ["reply"] * 8 + ["reaction"] * 8, (number, own)
