"""Merging the plans of a run into one: every reaction and reply, and one PATCH; carrying a
plan out against the GitHub stand-in when GitHub refuses some of its steps."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from githubkit.exception import RequestFailed

from app.demo.harness import REPO, Stage, stage
from app.github.executor import execute
from app.incident.effects import Reaction, Reply
from app.incident.plan import Plan, merge_plans
from app.incident.state import IncidentState, Status
from app.sandbox import Fault

FIRST = Plan(
    repo="acme/web",
    number=7,
    title="Checkout is down",
    body_read="as read from GitHub",
    node_id="I_7",
    state=IncidentState(status=Status.IDENTIFIED),
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
        state=IncidentState(status=Status.RESOLVED),
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
    assert merged.state == IncidentState(status=Status.RESOLVED)
    assert merged.labels == ("incident", "sev1")
    assert merged.assignees == ("alice",)
    assert (merged.issue_state, merged.state_reason) == ("closed", "completed")
    assert [r.comment_id for r in merged.reactions] == [1, 2, 3]
    assert [r.key for r in merged.replies] == ["comment:1", "comment:2", "comment:3"]
    assert merged.ours == ("incident", "sev3", "sev1")
    assert merged.steps == 3 + 1 + 3, "three reactions, one PATCH, three replies"


ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"
COMMENTS = f"{ISSUE}/comments"
REACTIONS = "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"


@pytest.fixture
async def world() -> AsyncIterator[Stage]:
    async with stage() as running:
        yield running


async def carried_out(world: Stage, plan: Plan, done_steps: int = 0) -> list[int]:
    """Execute `plan` as Baton would, from step `done_steps`; the steps it journaled."""
    journaled: list[int] = []

    async def journal(step: int) -> None:
        journaled.append(step)

    (installation,) = world.standin.world.installations
    async with world.service.github.installation(installation) as session:
        await execute(
            session, plan, render_card=lambda *_: "", done_steps=done_steps, journal=journal
        )
    return journaled


async def incident_plan(world: Stage, **changes: object) -> Plan:
    issue = await world.standin.open_issue(REPO, "Checkout is down", "It is down.", "rita")
    plan = Plan(
        repo=REPO,
        number=issue["number"],
        title="Checkout is down",
        body_read="It is down.",
        node_id="",
        state=None,
    )
    return replace(plan, **changes)  # type: ignore[arg-type]


async def test_steps_github_refuses_for_good_are_skipped_and_the_rest_is_done(
    world: Stage,
) -> None:
    plan = await incident_plan(world, labels=("incident",))
    gone = await world.standin.comment(REPO, plan.number, "/ack", "alice")
    await world.standin.delete_comment(REPO, gone["id"], "alice")
    kept = await world.standin.comment(REPO, plan.number, "/sev 1", "alice")
    plan = replace(
        plan,
        reactions=(Reaction(gone["id"], "eyes"), Reaction(kept["id"], "eyes")),
        replies=(Reply("comment:1", "refused by GitHub"), Reply("comment:2", "posted")),
    )
    world.standin.faults.add(Fault(method="POST", route=COMMENTS, status=422))

    assert await carried_out(world, plan) == [1, 2, 3, 4, 5]

    comments = world.standin.comments(REPO, plan.number)
    assert comments[0]["reactions"]["eyes"] == 1
    assert [c["body"].split("\n")[0] for c in comments[1:]] == ["posted"]
    assert [lb["name"] for lb in world.standin.issue(REPO, plan.number)["labels"]] == ["incident"]


async def test_a_refusal_that_may_not_be_final_stops_the_plan_to_be_tried_again(
    world: Stage,
) -> None:
    plan = await incident_plan(world, replies=(Reply("comment:1", "one"), Reply("comment:2", "2")))
    world.standin.faults.add(Fault(method="POST", route=COMMENTS, status=404))

    with pytest.raises(RequestFailed):
        await carried_out(world, plan)

    assert world.standin.comments(REPO, plan.number) == []


async def test_every_text_baton_posts_fits_githubs_limit(world: Stage) -> None:
    huge = "\n".join(f"line {n} of a very long reply" for n in range(10_000))
    plan = await incident_plan(world, replies=(Reply("comment:1", huge),))

    await carried_out(world, plan)

    (posted,) = world.standin.comments(REPO, plan.number)
    assert len(posted["body"]) <= 65_536
    assert posted["body"].startswith("line 0 of a very long reply\n")
    assert "characters were left out" in posted["body"]
    assert posted["body"].endswith("<!-- baton:reply comment:1 -->\n"), "the marker is kept"


async def acknowledged_plan(world: Stage) -> Plan:
    plan = await incident_plan(world, labels=("incident",))
    command = await world.standin.comment(REPO, plan.number, "/sev 1", "alice")
    return replace(
        plan, reactions=(Reaction(command["id"], "eyes"),), replies=(Reply("comment:1", "ok"),)
    )


def writes_since(world: Stage, logged: int) -> list[str | None]:
    """The routes written to the repository since request `logged`."""
    return [
        r.route
        for r in world.standin.requests[logged:]
        if r.method in ("POST", "PATCH") and r.path.startswith("/repos/")
    ]


async def test_the_card_goes_first_and_the_reaction_last(world: Stage) -> None:
    plan = await acknowledged_plan(world)
    logged = len(world.standin.requests)

    assert await carried_out(world, Plan.from_json(plan.to_json())) == [1, 2, 3]

    assert writes_since(world, logged) == [ISSUE, COMMENTS, REACTIONS]


async def test_a_plan_journaled_with_its_reactions_first_resumes_in_that_order(
    world: Stage,
) -> None:
    journaled = json.loads((await acknowledged_plan(world)).to_json())
    del journaled["reactions_first"]  # as journaled before the card went first
    logged = len(world.standin.requests)

    assert await carried_out(world, Plan.from_json(json.dumps(journaled)), done_steps=1) == [2, 3]

    assert writes_since(world, logged) == [ISSUE, COMMENTS], "its first step was the reaction"
