"""Handing over the Incident Commander role end to end: proposed, accepted, declined, withdrawn,
and the ways a handoff is refused."""

from __future__ import annotations

from app.demo.harness import Stage
from tests.e2e.helpers import (
    assert_refused,
    assert_taken,
    assignees_of,
    incident_with_ic,
    say,
    state_of,
)


async def test_a_handoff_is_pending_until_the_target_accepts(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")
    notes = "Rolled back deploy 4812; error rate is normal.\nNext: watch the payment queue."

    proposed = await say(world, number, f"/handoff @bob {notes}", "alice")

    assert_taken(
        proposed,
        "@bob, @alice asks you to take over as Incident Commander of Checkout is down",
        "Until you accept, @alice stays the Incident Commander.",
        notes,
    )
    pending = state_of(world, number).pending_handoff
    assert pending is not None
    assert (pending.role, pending.from_login, pending.to) == ("ic", "alice", "bob")
    assert pending.notes == notes
    assert state_of(world, number).ic == "alice" and assignees_of(world, number) == ["alice"]

    accepted = await say(world, number, "/accept", "bob")

    assert_taken(
        accepted,
        "@bob is now the Incident Commander for this incident, taking over from @alice.",
        notes,
    )
    after = state_of(world, number)
    assert after.ic == "bob" and after.pending_handoff is None
    assert assignees_of(world, number) == ["bob"]


async def test_ic_at_user_proposes_a_handoff_and_ic_me_by_the_target_accepts_it(
    world: Stage,
) -> None:
    number = await incident_with_ic(world, "alice")

    proposed = await say(world, number, "/ic @carol", "alice")
    assert_taken(proposed, "@carol, @alice asks you to take over")
    assert state_of(world, number).pending_handoff is not None

    taken = await say(world, number, "/ic me", "carol")

    assert_taken(taken, "@carol is now the Incident Commander for this incident, taking over")
    assert state_of(world, number).pending_handoff is None
    assert assignees_of(world, number) == ["carol"]


async def test_decline_tells_the_proposer_and_keeps_the_ic(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")
    await say(world, number, "/handoff @bob", "alice")

    answer = await say(world, number, "/decline off shift in ten minutes", "bob")

    assert_taken(
        answer,
        "@alice, @bob declined to take over as Incident Commander. "
        "@alice stays the Incident Commander.",
        "Reason: off shift in ten minutes",
    )
    assert state_of(world, number).pending_handoff is None
    assert state_of(world, number).ic == "alice"


async def test_cancel_withdraws_the_handoff(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")
    await say(world, number, "/handoff @bob", "alice")

    answer = await say(world, number, "/cancel", "alice")

    assert_taken(answer, "@alice withdrew the handoff proposed to @bob")
    assert state_of(world, number).pending_handoff is None
    assert_refused(await say(world, number, "/accept", "bob"), "finds no pending handoff")


async def test_only_the_target_may_accept(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")
    await say(world, number, "/handoff @bob", "alice")

    answer = await say(world, number, "/accept", "carol")

    assert_refused(answer, "`/accept` is for `@bob` only, who was asked to take over.")
    assert state_of(world, number).ic == "alice"


async def test_accept_without_a_pending_handoff(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")

    answer = await say(world, number, "/accept", "bob")

    assert_refused(answer, "`/accept` finds no pending handoff to accept. Usage: `/accept`")


def assignability_checks(world: Stage) -> list[str]:
    """Whom Baton asked GitHub about (`GET .../assignees/{user}`), in order."""
    return [
        r.path.rsplit("/", 1)[-1]
        for r in world.standin.requests
        if r.route == "/repos/{owner}/{repo}/assignees/{assignee}"
    ]


async def test_a_handoff_to_nobody_or_to_someone_unassignable_is_refused(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")

    unknown = await say(world, number, "/handoff @nosuchuser", "alice")
    assert_refused(unknown, "names `@nosuchuser`, but there is no GitHub user by that name")

    # The repository is public: GitHub reports `read` for mallory, who has no access at all,
    # so only the assignability check tells that the handoff would assign nobody.
    world.standin.reset_requests()
    unassignable = await say(world, number, "/handoff @mallory", "alice")
    assert_refused(
        unassignable,
        "names `@mallory`, who cannot be assigned to this issue",
        "Usage: `/handoff @user|me [notes]`",
    )
    assert assignability_checks(world) == ["mallory"]
    assert state_of(world, number).pending_handoff is None


async def test_assignability_is_asked_for_read_but_not_for_triage_or_above(world: Stage) -> None:
    """`read` is asked about (a public repository reports it for everyone); `triage` and
    above are only ever granted explicitly, and explicit access makes a user assignable."""
    number = await incident_with_ic(world, "alice")

    world.standin.reset_requests()
    to_dave = await say(world, number, "/handoff @dave", "alice")
    assert_taken(to_dave, "@dave, @alice asks you to take over")
    assert assignability_checks(world) == ["dave"]
    await say(world, number, "/cancel", "alice")

    world.standin.reset_requests()
    to_bob = await say(world, number, "/handoff @bob", "alice")
    assert_taken(to_bob, "@bob, @alice asks you to take over")
    assert assignability_checks(world) == []
    await say(world, number, "/accept", "bob")
    assert assignees_of(world, number) == ["bob"]
