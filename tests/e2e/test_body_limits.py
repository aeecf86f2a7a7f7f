"""GitHub's limit on a body (65,536 characters) and the refusals that are final.

What Baton writes always fits: a refusal lists a bounded number of problems, a description too
long to share the issue body with the card moves its end to a comment, and a request GitHub
refuses for good (422, or 404 on a comment that is gone) costs that one effect, not the rest of
the plan, and is never retried as if GitHub were down.
"""

from __future__ import annotations

import pytest

from app.demo.harness import REPO, Stage
from app.incident.card import CARD_START, without_card
from app.sandbox import Fault
from app.server.store import DeliveryStatus
from tests.e2e.helpers import BOT, FakeClock, answer_to, assert_taken, open_incident, say, state_of

BODY_LIMIT = 65_536  # GitHub's, in characters; not imported, so the test checks the code
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"


async def nothing_waits(world: Stage) -> None:
    counts = await world.service.store.counts()
    assert counts[DeliveryStatus.PENDING] == counts[DeliveryStatus.RUNNING] == 0, counts
    assert counts[DeliveryStatus.FAILED] == 0, counts


def bot_comments(world: Stage, number: int) -> list[str]:
    return [c["body"] for c in world.standin.comments(REPO, number) if c["user"]["login"] == BOT]


@pytest.mark.parametrize(
    ("first_line", "unlisted"),
    [("", "9,990"), ("/ic me\n", "9,991")],  # mallory may not take the IC role: one more problem
    ids=["near misses", "with a command"],
)
async def test_a_comment_of_near_misses_gets_a_short_refusal_and_blocks_nothing(
    timed_world: Stage, first_line: str, unlisted: str
) -> None:
    world = timed_world
    number = await open_incident(world)
    flood = first_line + "\n".join(["/ackk"] * 10_000)
    assert len(flood) < BODY_LIMIT

    refused = await say(world, number, flood, "mallory")
    taken = await say(world, number, "/sev 1", "alice")

    assert refused.reactions == {"confused"}
    assert len(refused.reply) < 5_000, "a bounded list of problems"
    assert "`/ackk` is not a command: did you mean `/ack`?" in refused.reply
    assert f"…and {unlisted} more lines with problems, not listed here." in refused.reply
    assert_taken(taken)
    assert state_of(world, number).severity == "sev1"
    await nothing_waits(world)


async def test_a_reply_refused_by_github_does_not_cost_the_other_replies_of_the_run(
    timed_world: Stage,
) -> None:
    world = timed_world
    number = await open_incident(world)
    world.standin.faults.add(Fault(method="POST", route=COMMENTS, status=422))
    severity = await world.standin.comment(REPO, number, "/sev 1", "alice")
    handoff = await world.standin.comment(REPO, number, "/handoff @bob", "alice")
    await world.settle()

    assert answer_to(world, number, severity["id"]).replies == (), "refused by GitHub"
    assert_taken(answer_to(world, number, handoff["id"]), "@bob")
    state = state_of(world, number)
    assert state.severity == "sev1" and state.pending_handoff is not None
    await nothing_waits(world)


async def test_a_command_deleted_before_baton_reacts_does_not_block_the_incident(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    number = await open_incident(world)
    ack = await world.standin.comment(REPO, number, "/ack", "alice")
    await world.standin.delete_comment(REPO, ack["id"], "alice")
    await world.settle()

    taken = await say(world, number, "/sev 1", "alice")

    assert_taken(taken)
    assert state_of(world, number).severity == "sev1"
    await nothing_waits(world)


async def test_a_description_too_long_to_share_the_body_with_the_card_moves_its_end(
    world: Stage,
) -> None:
    lines = [f"line {n} of what the reporter saw" for n in range(1_895)]
    report = "\n".join(lines)
    assert BODY_LIMIT - 500 < len(report) < BODY_LIMIT, "GitHub takes it; with a card it is over"
    issue = await world.standin.open_issue(REPO, "Checkout is down", report, "rita")
    await world.standin.add_labels(REPO, issue["number"], ["incident"], "alice")
    await world.settle()
    number = int(issue["number"])

    body = world.standin.issue(REPO, number)["body"]
    assert body.startswith(CARD_START) and len(body) <= BODY_LIMIT
    assert state_of(world, number).reporter == "rita"
    kept = without_card(body)
    assert kept.startswith(lines[0]) and lines[-1] not in kept
    moved = [c for c in bot_comments(world, number) if lines[-1] in c]
    assert len(moved) == 1 and "@rita" in moved[0]
    first_moved = next(n for n, line in enumerate(lines) if line not in kept)
    assert all(line in moved[0] for line in lines[first_moved:]), "nothing lost"
    assert "comment below" in kept, "the body says where the rest went"
    await nothing_waits(world)
