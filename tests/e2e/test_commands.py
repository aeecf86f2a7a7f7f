"""Every slash command end to end: a person's comment → signed delivery → Baton → the stand-in.

Each test drives the stand-in with human actions only, waits for the stage to settle, then
reads what a person would see: the card's state, the labels, the assignee, Baton's reply and
its reaction to the command comment.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.demo.harness import ORG, REPO, Stage
from tests.e2e.helpers import (
    FakeClock,
    answer_to,
    assert_refused,
    assert_taken,
    assignees_of,
    incident_with_ic,
    labels_of,
    open_incident,
    say,
    state_of,
)


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- taking and handing over the IC role ------------------------------------------------------


async def test_ack_records_the_time_to_acknowledge(timed_world: Stage, clock: FakeClock) -> None:
    world = timed_world
    number = await open_incident(world)
    clock.advance(minutes=7)

    answer = await say(world, number, "/ack looking now", "bob")

    assert_taken(answer, f"@bob acknowledged the incident at {when(clock.now)}", "(7 min after")
    assert state_of(world, number).acknowledged_at == clock.now
    again = await say(world, number, "/ack", "alice")
    assert_taken(again, "Nothing to change: the incident was acknowledged at")


async def test_ic_me_takes_the_role_and_assigns_the_issue(world: Stage) -> None:
    number = await open_incident(world)

    answer = await say(world, number, "/ic me", "bob")

    assert_taken(answer, "@bob is now the Incident Commander for this incident.")
    assert state_of(world, number).ic == "bob"
    assert assignees_of(world, number) == ["bob"]
    assert "**Incident Commander:** @bob" in world.standin.issue(REPO, number)["body"]
    assert state_of(world, number).applied[-1] == answer.comment_id


async def test_ic_alone_means_ic_me_and_the_previous_ic_is_named(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")

    answer = await say(world, number, "/ic", "carol")

    assert_taken(
        answer,
        "@carol is now the Incident Commander for this incident, taking over from @alice"
        " without a handoff.",
        "@alice: you are no longer the Incident Commander.",
    )
    assert state_of(world, number).ic == "carol"
    assert assignees_of(world, number) == ["carol"]


# --- roles beside the IC --------------------------------------------------------------------


async def test_liaison_by_name_and_by_me(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")

    named = await say(world, number, "/liaison @bob", "alice")
    assert_taken(named, "@bob is now the External Liaison for this incident")
    assert state_of(world, number).liaison == "bob"

    await say(world, number, "/handoff @carol", "alice")
    await say(world, number, "/accept", "carol")
    me = await say(world, number, "/liaison me", "carol")
    assert_taken(me, "@carol is now the External Liaison for this incident, taking over from @bob")
    assert state_of(world, number).liaison == "carol"


async def test_sme_added_with_an_area_and_removed(world: Stage) -> None:
    number = await open_incident(world)

    added = await say(world, number, "/sme @carol payments database", "bob")
    assert_taken(
        added, "@carol joins this incident as Subject Matter Expert for payments database."
    )
    assert [(s.login, s.area) for s in state_of(world, number).smes] == [
        ("carol", "payments database")
    ]

    removed = await say(world, number, "/sme remove @carol", "bob")
    assert_taken(removed, "@carol is no longer a Subject Matter Expert on this incident.")
    assert state_of(world, number).smes == ()


# --- severity and status ----------------------------------------------------------------------


async def test_severity_and_its_alias_keep_the_label_in_step(world: Stage) -> None:
    number = await open_incident(world)

    first = await say(world, number, "/severity sev1", "bob")
    assert_taken(first, "Severity is now **sev1** (was sev3).")
    assert state_of(world, number).severity == "sev1"
    assert {"sev1", "incident", "status:investigating"} == labels_of(world, number)

    second = await say(world, number, "/sev 2", "bob")
    assert_taken(second, "Severity is now **sev2** (was sev1).")
    assert state_of(world, number).severity == "sev2"
    assert "sev2" in labels_of(world, number) and "sev1" not in labels_of(world, number)


async def test_status_identified(world: Stage) -> None:
    number = await open_incident(world)

    answer = await say(world, number, "/status identified", "bob")

    assert_taken(answer, "Status is now **identified** (was investigating).")
    assert state_of(world, number).status == "identified"
    assert "status:identified" in labels_of(world, number)
    assert "status:investigating" not in labels_of(world, number)


async def test_mitigated_then_resolved_record_their_times(
    timed_world: Stage, clock: FakeClock
) -> None:
    world = timed_world
    number = await open_incident(world)
    clock.advance(minutes=20)

    mitigated = await say(world, number, "/mitigated Traffic drained to eu-west-2.", "bob")
    assert_taken(
        mitigated,
        f"The incident is **mitigated** as of {when(clock.now)}, 20 min after it was declared.",
        "Traffic drained to eu-west-2.",
    )
    assert state_of(world, number).mitigated_at == clock.now
    assert "status:mitigated" in labels_of(world, number)

    clock.advance(minutes=25)  # the stand-in's tokens live an hour of its clock
    resolved = await say(world, number, "/resolved Config reverted.", "bob")
    assert_taken(
        resolved,
        f"resolved as of {when(clock.now)}, 45 min after it was declared.",
        "Config reverted.",
    )
    after = state_of(world, number)
    assert (after.status, after.resolved_at) == ("resolved", clock.now)
    assert "status:resolved" in labels_of(world, number)


async def test_confirm_by_the_reporter_after_resolution(world: Stage) -> None:
    number = await open_incident(world)
    await say(world, number, "/resolved", "bob")

    answer = await say(world, number, "/confirm works for us again", "rita")

    assert_taken(answer, "@rita confirmed the fix at", "The incident is now **closed**")
    after = state_of(world, number)
    assert after.confirmed_at is not None and after.status == "closed"
    issue = world.standin.issue(REPO, number)
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    assert "status:closed" in labels_of(world, number)


async def test_confirm_of_a_sev2_waits_for_its_retrospective_then_closes(world: Stage) -> None:
    number = await open_incident(world)
    await say(world, number, "/sev 2", "alice")
    await say(world, number, "/resolved", "bob")
    retro = state_of(world, number).retro
    assert retro is not None

    answer = await say(world, number, "/confirm", "rita")
    assert_taken(answer, "closes as soon as its retrospective #")
    assert state_of(world, number).status == "resolved"

    await world.standin.close_issue(REPO, retro, "bob")
    await world.settle()
    assert state_of(world, number).status == "closed"
    assert world.standin.issue(REPO, number)["state"] == "closed"


async def test_close_by_the_ic_closes_the_issue_and_reopen_brings_it_back(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")

    closed = await say(world, number, "/close confirmed by phone", "alice")
    assert_taken(closed, "@alice closed the incident at", "Reason for closing: confirmed by phone")
    after = state_of(world, number)
    assert (after.status, after.close_reason) == ("closed", "confirmed by phone")
    assert world.standin.issue(REPO, number)["state"] == "closed"

    reopened = await say(world, number, "/reopen errors are back", "bob")
    assert_taken(
        reopened,
        "@bob reopened the incident (it was closed): status is **investigating** again.",
        "@alice is still the Incident Commander.",
    )
    assert state_of(world, number).status == "investigating"
    assert world.standin.issue(REPO, number)["state"] == "open"
    assert "status:investigating" in labels_of(world, number)


# --- words: updates, notes, snooze, help ------------------------------------------------------


async def test_update_posts_a_stakeholder_update(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")

    answer = await say(world, number, "/update Cause found.\nRolling back now.", "alice")

    assert_taken(
        answer,
        "### Status update: Checkout is down (#",
        "**Status:** investigating · **Severity:** sev3",
        "Cause found.\nRolling back now.",
        "**Next update:** by",
    )
    assert state_of(world, number).last_update_at is not None


async def test_note_now_and_backdated(timed_world: Stage, clock: FakeClock) -> None:
    world = timed_world
    number = await open_incident(world)
    clock.advance(minutes=1)

    now = await say(world, number, "/note Decided to fail over.", "bob")
    assert_taken(now, f"Noted for the timeline at {when(clock.now)}: Decided to fail over.")

    clock.advance(minutes=1)
    backdated = await say(world, number, "/note 14:05 Paged the database team.", "bob")
    expected = clock.now.replace(hour=14, minute=5)
    if expected > clock.now:
        expected -= timedelta(days=1)
    assert_taken(backdated, f"Noted for the timeline at {when(expected)}: Paged the database team.")
    assert state_of(world, number).applied[-2:] == (now.comment_id, backdated.comment_id)


async def test_snooze_postpones_the_update_reminder(timed_world: Stage, clock: FakeClock) -> None:
    world = timed_world
    number = await incident_with_ic(world, "alice")

    answer = await say(world, number, "/snooze 2h", "alice")

    until = clock.now + timedelta(hours=2)
    assert_taken(answer, f"The stakeholder update reminder is snoozed until {when(until)}.")
    assert state_of(world, number).snoozed_until == until


async def test_help_lists_the_commands_and_changes_nothing(world: Stage) -> None:
    number = await open_incident(world)
    body_before = world.standin.issue(REPO, number)["body"]

    answer = await say(world, number, "/help", "mallory")

    assert_taken(answer, "**Baton's commands.**", "`/handoff @user\\|me [notes]`", "`/sev`")
    assert world.standin.issue(REPO, number)["body"] == body_before


# --- refusals ---------------------------------------------------------------------------------


async def test_someone_without_a_role_cannot_take_the_ic_role(world: Stage) -> None:
    number = await open_incident(world)
    before = state_of(world, number)

    for person in ("mallory", "dave"):
        answer = await say(world, number, "/ic me", person)
        assert_refused(
            answer,
            f"@{person}, I did not apply",
            "`/ic` needs at least triage access to this repository.",
            "Usage: `/ic [me|@user] [notes]`",
        )
    assert state_of(world, number) == before
    assert assignees_of(world, number) == []


async def test_an_unconfigured_severity_is_refused(world: Stage) -> None:
    number = await open_incident(world)

    answer = await say(world, number, "/sev sev9", "alice")

    assert_refused(
        answer,
        "is not one of the configured severities: sev1, sev2, sev3, sev4",
        "`/severity sevN`",
    )
    assert state_of(world, number).severity == "sev3"
    assert "sev3" in labels_of(world, number)


async def test_a_near_miss_gets_a_suggestion_and_a_confused_reaction(world: Stage) -> None:
    number = await incident_with_ic(world, "alice")
    before = state_of(world, number)

    answer = await say(world, number, "/hanoff @bob", "alice")

    assert "`/hanoff` is not a command: did you mean `/handoff`?" in answer.reply
    assert "Usage: `/handoff @user|me [notes]`" in answer.reply
    assert state_of(world, number) == before
    assert answer.reactions == {"confused"}


async def test_one_bad_line_stops_the_whole_comment(world: Stage) -> None:
    number = await open_incident(world)
    before = world.standin.issue(REPO, number)["body"]

    answer = await say(world, number, "/ic me\n/sev sev9\n/status identified\n/liaison", "bob")

    assert_refused(
        answer,
        "`/sev` is not one of the configured severities",
        "`/liaison` needs a @user or `me`: `/liaison @user|me`",
    )
    assert answer.reply.count("\n- ") == 2
    assert world.standin.issue(REPO, number)["body"] == before
    assert assignees_of(world, number) == []


# --- what is not a command ----------------------------------------------------------------------


async def test_quoted_and_fenced_commands_are_not_run(world: Stage) -> None:
    number = await open_incident(world)
    before = world.standin.issue(REPO, number)["body"]
    world.standin.reset_requests()

    for body in ("> /ic me", "As I said:\n\n```\n/ic me\n/sev 1\n```", "<!-- /close -->"):
        answer = await say(world, number, body, "bob")
        assert answer.replies == () and answer.reactions == frozenset()

    assert world.standin.issue(REPO, number)["body"] == before
    # The parser decides these without asking GitHub anything.
    assert [r for r in world.standin.requests if r.installation_id is not None] == []


async def test_a_comment_on_a_pull_request_is_ignored(world: Stage) -> None:
    number = await open_incident(world)
    comment = await world.standin.comment(REPO, number, "/ic me", "bob")
    await world.settle()
    delivered = next(
        d
        for d in world.standin.deliveries
        if d.payload.get("comment", {}).get("id") == comment["id"]
    )
    world.standin.reset_requests()
    payload = {**delivered.payload, "issue": {**delivered.payload["issue"], "pull_request": {}}}
    payload["comment"] = {**payload["comment"], "id": comment["id"] + 10_000}

    world.standin.hookshot.enqueue(
        "issue_comment",
        payload,
        payload["installation"]["id"],
        payload["repository"]["id"],
    )
    await world.settle()

    assert world.standin.deliveries[-1].status_code in (200, 202)
    assert [r for r in world.standin.requests if r.installation_id is not None] == []


async def test_an_edited_comment_is_not_run_again(world: Stage) -> None:
    number = await open_incident(world)
    comment = await world.standin.comment(REPO, number, "thinking", "bob")
    await world.settle()
    world.standin.reset_requests()
    repo = world.standin.world.repo(REPO)
    assert repo is not None
    issue = repo.issues[number]
    said = next(c for c in issue.comments if c.id == comment["id"])
    bob = world.standin.world.account("bob")
    assert bob is not None

    world.standin.changes.edit_comment(repo, issue, said, "/ic me", bob)
    await world.settle()

    assert world.standin.deliveries[-1].action == "edited"
    assert state_of(world, number).ic is None
    assert [r for r in world.standin.requests if r.installation_id is not None] == []


# --- who counts as a responder -------------------------------------------------------------------


async def test_a_member_of_a_responder_team_may_run_commands(world: Stage) -> None:
    world.standin.put_file(REPO, ".github/baton.yml", "responders: {teams: [acme/sre]}\n")
    world.standin.add_user("tess")  # no role on the repository at all
    world.standin.add_team(ORG, "sre", ["carol", "dave", "tess"])
    number = await open_incident(world)

    answer = await say(world, number, "/ack\n/sme me storage", "tess")
    assert_taken(answer, "@tess acknowledged the incident", "@tess joins this incident as")
    assert [s.login for s in state_of(world, number).smes] == ["tess"]

    refused = await say(world, number, "/ack", "mallory")
    assert_refused(refused, "needs at least triage access to this repository or membership of")


# --- many commands at once ---------------------------------------------------------------------


async def test_twenty_commands_sent_back_to_back_all_apply_in_order(world: Stage) -> None:
    number = await open_incident(world)
    severities = ["sev1", "sev2"] * 10

    comments = [
        await world.standin.comment(REPO, number, f"/sev {severity}", "bob")
        for severity in severities
    ]
    await world.settle()

    ids = tuple(int(c["id"]) for c in comments)
    assert state_of(world, number).applied[-20:] == ids
    answers = [answer_to(world, number, i) for i in ids]
    assert all(a.reactions == {"eyes"} and len(a.replies) == 1 for a in answers)
    assert "Severity is now **sev1** (was sev3)." in answers[0].reply
    assert all("Severity is now **sev2** (was sev1)." in a.reply for a in answers[1::2])
    assert state_of(world, number).severity == "sev2"
    assert {"sev2"} == labels_of(world, number) & {"sev1", "sev2", "sev3", "sev4"}


async def test_commands_on_ten_incidents_at_once(world: Stage) -> None:
    numbers = [await open_incident(world, f"Incident {i}") for i in range(10)]

    comments = await asyncio.gather(
        *(world.standin.comment(REPO, n, "/ic me\n/sev 2", "alice") for n in numbers)
    )
    await world.settle()

    for number, comment in zip(numbers, comments, strict=True):
        state = state_of(world, number)
        assert (state.ic, state.severity) == ("alice", "sev2")
        assert assignees_of(world, number) == ["alice"]
        assert answer_to(world, number, int(comment["id"])).reactions == {"eyes"}


async def test_a_redelivered_command_is_not_applied_twice(world: Stage) -> None:
    number = await open_incident(world)
    answer = await say(world, number, "/note Paged the vendor.", "bob")
    hookshot = world.standin.hookshot
    created = next(
        d
        for d in reversed(hookshot.hook_deliveries)
        if d.event == "issue_comment" and d.action == "created"
    )
    body_before = world.standin.issue(REPO, number)["body"]
    world.standin.reset_requests()

    hookshot.redeliver(created)
    await world.settle()

    assert world.standin.deliveries[-1].redelivery
    assert world.standin.issue(REPO, number)["body"] == body_before
    assert len(answer_to(world, number, answer.comment_id).replies) == 1
    assert world.standin.count(writes_only=True) == 0
