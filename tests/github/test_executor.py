"""Merging the plans of a run into one: every reaction and reply, and one PATCH."""

from __future__ import annotations

from dataclasses import replace

from app.github.executor import Plan, merge_plans
from app.incident.effects import Reaction, Reply
from app.incident.state import IncidentState

FIRST = Plan(
    repo="acme/web",
    number=7,
    title="Checkout is down",
    body_read="as read from GitHub",
    node_id="I_7",
    state=IncidentState(status="identified"),
    labels=("incident", "sev3"),
    assignees=("alice",),
    reactions=(Reaction(1, "eyes"),),
    replies=(Reply("comment:1", "one"),),
    ours=("incident", "sev3"),
)


def test_one_plan_is_its_own_merge() -> None:
    assert merge_plans([FIRST]) is FIRST


def test_the_last_plan_that_changes_a_part_wins_and_effects_add_up() -> None:
    second = replace(
        FIRST,
        body_read="as the first plan would leave it",
        state=None,  # changed nothing on the card
        labels=None,
        assignees=None,
        reactions=(Reaction(2, "confused"),),
        replies=(Reply("comment:2", "two"),),
        ours=(),
    )
    third = replace(
        FIRST,
        title="Checkout is down (EU)",
        body_read="as the second plan would leave it",
        state=IncidentState(status="resolved"),
        labels=("incident", "sev1"),
        issue_state="closed",
        state_reason="completed",
        reactions=(Reaction(3, "eyes"),),
        replies=(Reply("comment:3", "three"),),
        ours=("sev1", "incident"),
    )

    merged = merge_plans([FIRST, second, third])

    assert merged.body_read == "as read from GitHub"
    assert merged.title == "Checkout is down (EU)"
    assert merged.state == IncidentState(status="resolved")
    assert merged.labels == ("incident", "sev1")
    assert merged.assignees == ("alice",)
    assert (merged.issue_state, merged.state_reason) == ("closed", "completed")
    assert [r.comment_id for r in merged.reactions] == [1, 2, 3]
    assert [r.key for r in merged.replies] == ["comment:1", "comment:2", "comment:3"]
    assert merged.ours == ("incident", "sev3", "sev1")
    assert merged.steps == 3 + 1 + 3, "three reactions, one PATCH, three replies"
