"""The card belongs to Baton: hand edits of it are undone; labels changed by hand move it.

People's text outside the card is theirs and is never touched.
"""

from __future__ import annotations

from app.demo.harness import REPO, Stage
from app.incident.card import CARD_END, CARD_START, card_block, read_card, without_card
from tests.e2e.helpers import (
    BOT,
    REPORT,
    card_key,
    labels_of,
    open_incident,
    say,
    state_of,
    with_severity_forged,
)


def bot_comments(world: Stage, number: int) -> list[str]:
    return [c["body"] for c in world.standin.comments(REPO, number) if c["user"]["login"] == BOT]


async def test_a_forged_state_is_restored_and_reported(world: Stage) -> None:
    number = await open_incident(world)
    good = world.standin.issue(REPO, number)["body"]
    forged = with_severity_forged(good, "sev4") + "\nUpdate from rita: still broken.\n"
    assert read_card(forged, card_key(world, number)).tampered

    await world.standin.edit_body(REPO, number, forged, "rita")
    await world.settle()

    body = world.standin.issue(REPO, number)["body"]
    assert body.endswith(REPORT + "\nUpdate from rita: still broken.\n")
    assert state_of(world, number).severity == "sev3"
    notices = bot_comments(world, number)[1:]
    assert len(notices) == 1
    assert "@rita, the incident card at the top of this issue is kept by Baton" in notices[0]
    assert "its hidden state no longer matched its signature" in notices[0]


async def test_a_removed_card_is_put_back(world: Stage) -> None:
    number = await open_incident(world)
    body = world.standin.issue(REPO, number)["body"]
    without_card = body[body.index(CARD_END) + len(CARD_END) :].lstrip("\r\n")

    await world.standin.edit_body(REPO, number, without_card, "rita")
    await world.settle()

    restored = world.standin.issue(REPO, number)["body"]
    assert restored.startswith(CARD_START) and restored.endswith(REPORT)
    assert state_of(world, number).status == "investigating"
    notices = bot_comments(world, number)[1:]
    assert len(notices) == 1 and "(the card had been removed)" in notices[0]


async def test_editing_only_your_own_text_changes_nothing(world: Stage) -> None:
    number = await open_incident(world)
    body = world.standin.issue(REPO, number)["body"]
    world.standin.reset_requests()

    await world.standin.edit_body(REPO, number, body + "\nEdit: also on mobile.\n", "rita")
    await world.settle()

    assert world.standin.issue(REPO, number)["body"] == body + "\nEdit: also on mobile.\n"
    assert len(bot_comments(world, number)) == 1
    assert world.standin.count(writes_only=True) == 0


async def test_a_severity_label_added_by_hand_moves_the_card(world: Stage) -> None:
    number = await open_incident(world)

    await world.standin.add_labels(REPO, number, ["sev1"], "alice")
    await world.settle()

    assert state_of(world, number).severity == "sev1"
    assert "sev3" not in labels_of(world, number) and "sev1" in labels_of(world, number)
    assert "Severity is now **sev1** (was sev3)." in bot_comments(world, number)[-1]


async def test_a_status_label_added_by_hand_moves_the_card(world: Stage) -> None:
    number = await open_incident(world)

    await world.standin.add_labels(REPO, number, ["status:mitigated"], "alice")
    await world.settle()

    state = state_of(world, number)
    assert state.status == "mitigated" and state.mitigated_at is not None
    assert "status:investigating" not in labels_of(world, number)
    assert "status:mitigated" in labels_of(world, number)


async def test_a_removed_severity_label_is_put_back(world: Stage) -> None:
    number = await open_incident(world)

    await world.standin.remove_label(REPO, number, "sev3", "alice")
    await world.settle()

    assert "sev3" in labels_of(world, number)
    assert state_of(world, number).severity == "sev3"
    assert (
        "The severity label is put back: this incident is **sev3**."
        in (bot_comments(world, number)[-1])
    )


async def move_on(world: Stage, number: int) -> str:
    """Take the incident from its first card to a later one; the first card's whole body."""
    first = world.standin.issue(REPO, number)["body"]
    await say(world, number, "/ic me", "alice")
    await say(world, number, "/severity sev1", "bob")
    await say(world, number, "/handoff @bob", "alice")
    await say(world, number, "/accept", "bob")
    await say(world, number, "/resolved Config reverted.", "bob")
    moved = state_of(world, number)
    assert (moved.status, moved.severity, moved.ic) == ("resolved", "sev1", "bob")
    return first


async def test_an_earlier_card_pasted_back_is_reverted_and_reported(world: Stage) -> None:
    number = await open_incident(world)
    earlier = await move_on(world, number)
    latest = world.standin.issue(REPO, number)["body"]

    # The author pastes back a version from the body's edit history: validly signed, but old.
    await world.standin.edit_body(REPO, number, earlier, "rita")
    await world.settle()

    state = state_of(world, number)
    assert (state.status, state.severity, state.ic) == ("resolved", "sev1", "bob")
    assert card_block(world.standin.issue(REPO, number)["body"]) != card_block(earlier)
    assert without_card(world.standin.issue(REPO, number)["body"]) == without_card(latest)
    notice = bot_comments(world, number)[-1]
    assert "@rita, the incident card at the top of this issue is kept by Baton" in notice
    assert "(an earlier version of the card had been put back)" in notice


async def test_the_card_replayed_twice_is_still_reverted(world: Stage) -> None:
    number = await open_incident(world)
    earlier = await move_on(world, number)
    await world.standin.edit_body(REPO, number, earlier, "rita")
    await world.settle()
    restored = state_of(world, number)

    await world.standin.edit_body(REPO, number, earlier, "rita")
    await world.settle()

    assert state_of(world, number).status == "resolved"
    assert state_of(world, number).rev > restored.rev


async def test_a_command_is_never_decided_on_a_replayed_card(world: Stage) -> None:
    number = await open_incident(world)
    earlier = await move_on(world, number)
    # The delivery of the paste never arrives: Baton sees the replayed card only when it next
    # reads the issue, for a command.
    sink = world.standin.hookshot.sink
    world.standin.hookshot.sink = None
    await world.standin.edit_body(REPO, number, earlier, "rita")
    await world.settle()
    world.standin.hookshot.sink = sink

    answer = await say(world, number, "/sev 2", "bob")

    state = state_of(world, number)
    assert (state.status, state.severity, state.ic) == ("resolved", "sev2", "bob")
    assert "Severity is now **sev2** (was sev1)." in answer.reply


async def test_a_card_fenced_as_code_is_restored_without_a_dead_copy(world: Stage) -> None:
    number = await open_incident(world)
    body = world.standin.issue(REPO, number)["body"]
    block = card_block(body)
    assert block is not None
    fenced = "```\n" + block + "\n```" + body[len(block) :]

    await world.standin.edit_body(REPO, number, fenced, "rita")
    await world.settle()

    restored = world.standin.issue(REPO, number)["body"]
    assert restored.startswith(CARD_START) and without_card(restored) == without_card(body)
    assert restored.count(CARD_START) == 1 and "```" not in restored
    assert state_of(world, number).status == "investigating"
    assert len(bot_comments(world, number)) == 2


async def test_a_fenced_card_keeps_the_text_around_it(world: Stage) -> None:
    number = await open_incident(world)
    body = world.standin.issue(REPO, number)["body"]
    block = card_block(body)
    assert block is not None
    above, below = "Update from rita: still down\r\n\r\n", body[len(block) :]
    fenced = above + "~~~markdown\n" + block + "\n~~~\n\nMore below." + below

    await world.standin.edit_body(REPO, number, fenced, "rita")
    await world.settle()

    restored = world.standin.issue(REPO, number)["body"]
    assert restored.count(CARD_START) == 1 and "~~~" not in restored
    assert without_card(restored) == above + "\n\nMore below." + below
    assert state_of(world, number).status == "investigating"


async def test_a_hand_edit_of_the_visible_card_is_not_called_a_replay(world: Stage) -> None:
    number = await open_incident(world)
    body = world.standin.issue(REPO, number)["body"]

    await world.standin.edit_body(REPO, number, body.replace("_unassigned_", "@mallory", 1), "rita")
    await world.settle()

    assert "@mallory" not in (card_block(world.standin.issue(REPO, number)["body"]) or "")
    notice = bot_comments(world, number)[-1]
    assert "your edit to it was undone." in notice
