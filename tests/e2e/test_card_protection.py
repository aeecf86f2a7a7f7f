"""The card belongs to Baton: hand edits of it are undone; labels changed by hand move it.

People's text outside the card is theirs and is never touched.
"""

from __future__ import annotations

import json
import re

from app.demo.harness import REPO, Stage
from app.incident.card import CARD_END, CARD_START, read_card
from tests.e2e.conftest import card_key
from tests.e2e.test_commands import BOT, labels_of, state_of
from tests.e2e.test_declare import REPORT, open_incident

STATE_LINE = re.compile(r"<!-- baton:state (?P<json>.*?) -->")


def bot_comments(world: Stage, number: int) -> list[str]:
    return [c["body"] for c in world.standin.comments(REPO, number) if c["user"]["login"] == BOT]


def with_severity_forged(body: str, severity: str) -> str:
    """The body with the hidden state's severity changed by hand, its MAC left as it was."""
    match = STATE_LINE.search(body)
    assert match is not None
    forged = json.loads(match["json"])
    forged["severity"] = severity
    return body[: match.start("json")] + json.dumps(forged) + body[match.end("json") :]


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
