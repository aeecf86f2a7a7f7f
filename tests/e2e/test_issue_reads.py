"""A command is decided on the issue as GitHub has it when Baton takes the command up (one read
per run of deliveries); a person's edit made between that read and Baton's write, which the
write undoes, is put back (app/handlers/writes.py: what Baton wrote is kept in the store that
every process shares)."""

from __future__ import annotations

import asyncio
from collections import Counter

from app.demo.harness import REPO, Stage
from app.sandbox import Fault
from tests.e2e.helpers import (
    A_PERSONS_WHILE,
    BOT,
    REACT,
    READ_COMMENTS,
    READ_ISSUE,
    REPLY,
    REPORT,
    WRITE_ISSUE,
    FakeClock,
    baton_requests,
    labels_of,
    open_incident,
    route_list,
    say,
    state_of,
    with_severity_forged,
)

ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"


def requests_made(world: Stage) -> Counter[str]:
    return Counter(route_list(baton_requests(world)))


async def a_command_waits(world: Stage, clock: FakeClock, body: str) -> tuple[int, int]:
    """An incident, and bob's command made some seconds after Baton's last change, waiting in
    the store (the worker stopped): (the incident's number, the comment's id)."""
    number = await open_incident(world)
    clock.advance(seconds=A_PERSONS_WHILE)
    await world.service.worker.stop()
    comment = await world.standin.comment(REPO, number, body, "bob")
    return number, int(comment["id"])


async def handled_later(world: Stage, clock: FakeClock) -> None:
    """Baton takes up what waits some seconds later; the requests counted are its own."""
    await world.standin.settle()
    clock.advance(seconds=A_PERSONS_WHILE)
    world.standin.reset_requests()
    world.service.worker.start()
    await world.settle()


async def test_a_command_reads_the_issue_once(timed_world: Stage, clock: FakeClock) -> None:
    world = timed_world
    number = await open_incident(world)
    await say(world, number, "/ack", "bob")  # Baton learns bob's role
    clock.advance(seconds=A_PERSONS_WHILE)
    world.standin.reset_requests()

    answer = await say(world, number, "/note Paged the database vendor.", "bob")

    assert answer.reactions == {"eyes"}
    # The issue as it is now; the comments since the last command, for any missed.
    assert requests_made(world) == Counter(
        {READ_ISSUE: 1, READ_COMMENTS: 1, REACT: 1, WRITE_ISSUE: 1, REPLY: 1}
    )
    assert answer.comment_id in state_of(world, number).applied
    assert world.standin.issue(REPO, number)["body"].endswith(REPORT)


async def test_labels_are_written_from_a_fresh_read(timed_world: Stage, clock: FakeClock) -> None:
    """A label a person adds after the command's comment, before Baton writes the labels, stays."""
    world = timed_world
    number, _ = await a_command_waits(world, clock, "/severity sev1")
    await world.standin.add_labels(REPO, number, ["customer-facing"], "carol")

    await handled_later(world, clock)

    assert {"sev1", "customer-facing", "incident"} <= set(labels_of(world, number))
    assert "sev3" not in labels_of(world, number)
    assert state_of(world, number).severity == "sev1"
    assert requests_made(world)[READ_ISSUE] == 1


async def test_a_label_waiting_behind_a_command_moves_the_card_that_command_left(
    timed_world: Stage, clock: FakeClock
) -> None:
    """A hand-added severity label waits behind a command; the label's delivery predates the
    command's write, and the label is applied to the card that write left, note included."""
    world = timed_world
    number, note = await a_command_waits(world, clock, "/note Rolled back 4812.")
    await world.standin.add_labels(REPO, number, ["sev1"], "carol")

    await handled_later(world, clock)

    state = state_of(world, number)
    assert note in state.applied
    assert state.severity == "sev1"


async def test_an_edit_made_before_baton_takes_the_command_up_stays(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    number, note = await a_command_waits(world, clock, "/note Rolled back 4812.")
    edited = world.standin.issue(REPO, number)["body"] + "\nEdit: mobile fails too.\n"
    await world.standin.edit_body(REPO, number, edited, "rita")

    await handled_later(world, clock)

    assert world.standin.issue(REPO, number)["body"].endswith(
        REPORT + "\nEdit: mobile fails too.\n"
    )
    assert note in state_of(world, number).applied
    assert requests_made(world)[WRITE_ISSUE] == 1


async def test_an_edit_made_while_baton_writes_is_put_back(world: Stage) -> None:
    """rita edits her report after Baton read the issue and before its write lands: the write
    undoes her edit; its delivery shows it, and her text goes back in around the new card."""
    number = await open_incident(world)
    write = world.standin.faults.add(Fault("PATCH", ISSUE, kind="slow", delay=0.5))
    await world.standin.comment(REPO, number, "/note Rolled back 4812.", "bob")
    handling = asyncio.create_task(world.settle())
    async with asyncio.timeout(10):
        while write.times:  # Baton's write is on its way
            await asyncio.sleep(0.01)
    edited = world.standin.issue(REPO, number)["body"] + "\nEdit: mobile fails too.\n"
    await world.standin.edit_body(REPO, number, edited, "rita")
    await handling
    await world.settle()

    body = world.standin.issue(REPO, number)["body"]
    assert body.endswith(REPORT + "\nEdit: mobile fails too.\n")
    assert len(state_of(world, number).applied) == 1
    bot_comments = [
        c["body"] for c in world.standin.comments(REPO, number) if c["user"]["login"] == BOT
    ]
    assert not any("kept by Baton" in text for text in bot_comments), "rita left the card alone"


async def test_a_delivery_older_than_batons_last_write_is_decided_on_that_write(
    timed_world: Stage, clock: FakeClock
) -> None:
    """rita forges the card while a command waits; the command's write replaces her forgery
    with a good card, note included. Her edit's delivery, older than that write, then finds the
    card moved on and leaves it: deciding on her delivery's copy would restore the card from
    before the note."""
    world = timed_world
    number, note = await a_command_waits(world, clock, "/note Rolled back 4812.")
    forged = with_severity_forged(world.standin.issue(REPO, number)["body"], "sev4")
    await world.standin.edit_body(REPO, number, forged, "rita")

    await handled_later(world, clock)

    state = state_of(world, number)
    assert note in state.applied
    assert state.severity == "sev3"
