from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from app.config import DEFAULTS, Config, Escalation, Responders
from app.incident.commands import Command, parse_comment
from app.incident.declaring import declare
from app.incident.effects import Actor, Decision, IssueChange, IssueView, Reaction, UserFacts
from app.incident.label_changes import apply_label_change
from app.incident.records import note_time
from app.incident.rules import apply_comment, named_users
from app.incident.state import Handoff, IncidentState, Sme, Status

NOW = datetime(2026, 11, 24, 14, 5, tzinfo=UTC)
DECLARED = NOW - timedelta(hours=1)
ISSUE = IssueView(
    repo="acme/shop",
    number=42,
    title="Checkout returns 502",
    body="",
    author="carol",
    labels=("incident", "sev3", "status:investigating", "bug"),
)
ALICE = Actor("alice", is_responder=True)
BOB = Actor("bob", is_responder=True)
DAVE = Actor("dave", is_responder=True)
CAROL = Actor("carol", is_reporter=True)  # the reporter, not a responder
ZED = Actor("zed")  # a member of the community
USERS: Mapping[str, UserFacts] = {
    "alice": UserFacts(is_responder=True),
    "bob": UserFacts(is_responder=True),
    "dave": UserFacts(is_responder=True),
    "carol": UserFacts(),
    "ghost": UserFacts(exists=False, assignable=False),
    "outsider": UserFacts(assignable=False),
}
TAKEN = (Reaction(100, "eyes"),)
REFUSED = (Reaction(100, "confused"),)


def incident(**changes: object) -> IncidentState:
    state = declare(ISSUE, ALICE, DEFAULTS, DECLARED).state
    return replace(state, **changes)  # type: ignore[arg-type]


def comment(
    state: IncidentState,
    body: str,
    actor: Actor = ALICE,
    *,
    users: Mapping[str, UserFacts] = USERS,
    issue: IssueView = ISSUE,
    config: Config = DEFAULTS,
    now: datetime = NOW,
) -> Decision:
    parsed = parse_comment(body)
    return apply_comment(
        state,
        parsed.commands,
        parsed.near_misses,
        actor,
        users,
        comment_id=100,
        issue=issue,
        config=config,
        now=now,
    )


def fresh(decision: Decision) -> IncidentState:
    """The state after a decision, ready for the next comment (which reuses id 100)."""
    return replace(decision.state, applied=())


def reply(decision: Decision) -> str:
    assert len(decision.replies) == 1
    assert decision.replies[0].key == "comment:100"
    return decision.replies[0].body


def assert_refused(decision: Decision, before: IncidentState, *reasons: str) -> str:
    assert decision.refused
    assert decision.state == before
    assert decision.reactions == REFUSED
    assert decision.issue == IssueChange()
    body = reply(decision)
    assert "I did not apply this comment" in body
    for reason in reasons:
        assert reason in body
    return body


def assert_taken(decision: Decision, before: IncidentState) -> str:
    assert not decision.refused
    assert decision.reactions == TAKEN
    assert decision.state.has_applied(100)
    assert decision.state.last_activity_at == NOW
    assert decision.state != before
    return reply(decision)


# --- declaring -------------------------------------------------------------------------------


def test_declaring_sets_up_the_incident_labels_and_the_first_response() -> None:
    issue = replace(ISSUE, labels=("bug", "incident"))
    decision = declare(issue, ALICE, DEFAULTS, NOW, impact="EU customers cannot pay")
    state = decision.state
    assert (state.status, state.severity, state.reporter) == ("investigating", "sev3", "carol")
    assert state.declared_at == state.last_activity_at == NOW
    assert state.impact == "EU customers cannot pay"
    assert decision.issue.labels == ("bug", "incident", "sev3", "status:investigating")
    assert [r.key for r in decision.replies] == ["declare:42"]
    body = decision.replies[0].body
    assert "needs an Incident Commander" in body
    assert "Say `/ic me` to take the role" in body
    assert "- `/handoff @user|me [notes]`:" in body
    assert "every 4 h" in body
    assert "48 working hours" in body
    assert "no escalation team is configured" in body


def test_the_first_response_pages_the_escalation_team() -> None:
    config = replace(DEFAULTS, escalation=Escalation(team="acme/incident-leads"))
    body = declare(ISSUE, ALICE, config, NOW).replies[0].body
    assert "**Paged:** @acme/incident-leads, please find an Incident Commander" in body


def test_the_severity_comes_from_the_command_then_the_issue_labels_then_the_default() -> None:
    labelled = replace(ISSUE, labels=("incident", "sev2"))
    assert declare(labelled, ALICE, DEFAULTS, NOW).state.severity == "sev2"
    assert declare(labelled, ALICE, DEFAULTS, NOW, severity="sev1").state.severity == "sev1"
    assert declare(labelled, ALICE, DEFAULTS, NOW, severity="sev9").state.severity == "sev2"
    assert declare(replace(ISSUE, labels=()), ALICE, DEFAULTS, NOW).state.severity == "sev3"


def test_declaring_an_incident_again_changes_nothing() -> None:
    existing = incident(ic="bob")
    assert declare(ISSUE, ALICE, DEFAULTS, NOW, existing=existing) == Decision(state=existing)


def test_slash_declare_on_an_incident_says_it_already_is_one() -> None:
    state = incident()
    decision = comment(state, "/declare sev1 Big outage")
    assert decision.state == state
    assert decision.reactions == TAKEN
    assert "already is an incident" in reply(decision)


# --- the comment as a whole ------------------------------------------------------------------


def test_an_applied_comment_is_never_applied_again() -> None:
    state = incident().with_applied(100)
    assert comment(state, "/ic me") == Decision(state=state)


def test_a_comment_without_commands_does_nothing() -> None:
    state = incident()
    assert comment(state, "Looking into it, will report back.", ZED) == Decision(state=state)


def test_a_near_miss_alone_gets_a_suggestion_and_a_confused_reaction() -> None:
    state = incident()
    decision = comment(state, "/hanoff @bob")
    assert decision.state == state
    assert decision.refused
    assert decision.reactions == REFUSED
    assert "did you mean `/handoff`? Usage: `/handoff @user|me [notes]`" in reply(decision)


def test_commands_apply_against_the_state_as_it_evolves_through_the_comment() -> None:
    state = incident()
    decision = comment(state, "/ic me\n/liaison @bob")
    body = assert_taken(decision, state)
    assert (decision.state.ic, decision.state.liaison) == ("alice", "bob")
    assert decision.issue.assignees == ("alice",)
    assert body.index("Incident Commander") < body.index("External Liaison")


def test_one_bad_line_stops_the_whole_comment_and_every_problem_is_listed() -> None:
    state = incident(ic="alice")
    body = "/ack\n/severity sev9\n/liaison @ghost\n/hanoff @bob\n/update\n/mitigated"
    decision = comment(state, body)
    text = assert_refused(
        decision,
        state,
        "`/severity` is not one of the configured severities: sev1, sev2, sev3, sev4. "
        "Usage: `/severity sevN`",
        "`/liaison` names `@ghost`, but there is no GitHub user by that name. "
        "Usage: `/liaison @user|me`",
        "`/hanoff` is not a command: did you mean `/handoff`?",
        "`/update` needs text: `/update text`",
    )
    assert text.count("\n- ") == 4
    assert text.index("/severity") < text.index("/liaison") < text.index("/hanoff")


def test_help_lists_every_command_for_anyone_without_changing_anything() -> None:
    state = incident()
    decision = comment(state, "/help", ZED)
    assert decision.state == state
    assert decision.reactions == TAKEN
    body = reply(decision)
    for name in ("/declare", "/handoff", "/accept", "/snooze", "/reopen", "/help"):
        assert name in body


def test_named_users_lists_who_to_look_up() -> None:
    parsed = parse_comment("/ic @bob\n/liaison me\n/sme @dave db\n/sme remove @bob")
    assert named_users(parsed.commands, ALICE) == ("alice", "bob", "dave")


# --- who may run what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["/ack", "/ic me", "/severity sev1", "/status identified", "/mitigated", "/resolved",
     "/update all good", "/note fixed it", "/sme @bob", "/reopen", "/handoff @bob"],
)  # fmt: skip
def test_responder_commands_are_refused_to_the_community_with_the_needed_role(body: str) -> None:
    state = incident()
    assert_refused(comment(state, body, ZED), state, "needs at least triage access")


def test_the_needed_role_follows_the_configuration() -> None:
    config = replace(DEFAULTS, responders=Responders(permission="write", teams=("acme/sre",)))
    state = incident()
    assert_refused(
        comment(state, "/ack", ZED, config=config),
        state,
        "needs at least write access to this repository or membership of `acme/sre`",
    )


# --- acknowledging ---------------------------------------------------------------------------


def test_ack_records_the_time_to_acknowledge_once() -> None:
    state = incident()
    decision = comment(state, "/ack on it")
    assert assert_taken(decision, state) == (
        "@alice acknowledged the incident at 2026-11-24 14:05 UTC (1 h after it was declared).\n"
    )
    assert decision.state.acknowledged_at == NOW
    acknowledged = fresh(decision)
    again = comment(acknowledged, "/ack", BOB, now=NOW + timedelta(minutes=3))
    assert again.state == acknowledged
    assert reply(again) == (
        "Nothing to change: the incident was acknowledged at 2026-11-24 14:05 UTC.\n"
    )


# --- the Incident Commander and handoffs -----------------------------------------------------


@pytest.mark.parametrize("body", ["/ic", "/ic me", "/IC Me", "/ic @alice", "/handoff @alice"])
def test_taking_the_role_yourself(body: str) -> None:
    state = incident()
    decision = comment(state, body)
    assert assert_taken(decision, state) == (
        "@alice is now the Incident Commander for this incident.\n"
    )
    assert decision.state.ic == "alice"
    assert decision.issue.assignees == ("alice",)


def test_taking_over_names_the_previous_ic_and_withdraws_a_pending_handoff() -> None:
    pending = Handoff("ic", "alice", "dave", DECLARED)
    state = incident(ic="alice", pending_handoff=pending)
    decision = comment(state, "/ic me", BOB)
    body = assert_taken(decision, state)
    assert body.startswith(
        "@bob is now the Incident Commander for this incident, taking over from @alice"
        " without a handoff.\n"
    )
    assert "@alice: you are no longer the Incident Commander." in body
    assert "The handoff @alice proposed to @dave is withdrawn: @dave, it no longer" in body
    assert decision.state.pending_handoff is None
    assert decision.issue.assignees == ("bob",)


def test_taking_the_role_when_there_is_no_ic_says_nothing_of_a_handoff() -> None:
    decision = comment(incident(), "/ic me", BOB)
    assert "without a handoff" not in assert_taken(decision, incident())


def test_taking_the_role_you_hold_changes_nothing() -> None:
    state = incident(ic="alice")
    decision = comment(state, "/ic me")
    assert decision.state == state
    assert "you already are the Incident Commander" in reply(decision)


def test_someone_who_cannot_be_assigned_cannot_take_the_role() -> None:
    state = incident()
    outsider = Actor("outsider", is_responder=True)
    assert_refused(comment(state, "/ic me", outsider), state, "cannot be assigned to this issue")


def test_the_ic_proposes_a_handoff_with_notes() -> None:
    state = incident(ic="alice")
    decision = comment(state, "/handoff @bob Rolled back deploy 4812.\nNext: watch the queue.")
    body = assert_taken(decision, state)
    assert body.startswith(
        "@bob, @alice asks you to take over as Incident Commander of Checkout returns 502 (#42). "
        "Say `/accept` to take it or `/decline [reason]`.\n"
    )
    assert "Rolled back deploy 4812.\nNext: watch the queue." in body
    assert decision.state.pending_handoff == Handoff(
        "ic", "alice", "bob", NOW, "Rolled back deploy 4812.\nNext: watch the queue.", 100
    )
    assert decision.state.ic == "alice"
    assert decision.issue.assignees is None


def test_ic_at_user_proposes_a_handoff_too() -> None:
    state = incident(ic="alice")
    decision = comment(state, "/ic @bob")
    assert decision.state.pending_handoff is not None
    assert decision.state.pending_handoff.to == "bob"


def test_any_responder_proposes_a_handoff_while_there_is_no_ic() -> None:
    state = incident()
    decision = comment(state, "/handoff @dave", BOB)
    assert decision.state.pending_handoff == Handoff("ic", None, "dave", NOW, "", 100)
    assert "Until you accept, the incident has no Incident Commander." in reply(decision)


@pytest.mark.parametrize(
    ("body", "actor", "reason"),
    [
        (
            "/handoff @dave",
            BOB,
            "`/handoff` is for the Incident Commander, `@alice`, while there is one.",
        ),
        ("/handoff @alice", BOB, "is for the Incident Commander, `@alice`, while there is one."),
        ("/handoff @ghost", ALICE, "names `@ghost`, but there is no GitHub user by that name"),
        ("/handoff @outsider", ALICE, "names `@outsider`, who cannot be assigned to this issue"),
        ("/handoff", ALICE, "needs a @user or `me`"),
        ("/handoff @acme/sre", ALICE, "name a person, not a team"),
    ],
)
def test_handoff_refusals(body: str, actor: Actor, reason: str) -> None:
    state = incident(ic="alice")
    assert_refused(comment(state, body, actor), state, reason)


def test_the_ic_naming_themselves_changes_nothing() -> None:
    state = incident(ic="alice")
    decision = comment(state, "/ic @alice")
    assert decision.state == state
    assert "you already are the Incident Commander" in reply(decision)


def test_handoff_accepted_in_explicit_words() -> None:
    handoff = Handoff("ic", "alice", "bob", DECLARED, "Rolled back.\nNext: hotfix.", 7)
    state = incident(ic="alice", pending_handoff=handoff)
    decision = comment(state, "/accept", BOB)
    body = assert_taken(decision, state)
    assert body.startswith(
        "@bob is now the Incident Commander for this incident, taking over from @alice.\n"
    )
    assert "What was handed over:\n\nRolled back.\nNext: hotfix." in body
    assert (decision.state.ic, decision.state.pending_handoff) == ("bob", None)
    assert decision.issue.assignees == ("bob",)


def test_a_handoff_round_trip_from_proposal_to_acceptance() -> None:
    proposed = comment(incident(ic="alice"), "/handoff @bob all yours").state
    accepted = comment(replace(proposed, applied=()), "/accept", BOB)  # a later comment
    assert "taking over from @alice." in reply(accepted)
    assert accepted.state.ic == "bob"


def test_logins_are_matched_whatever_their_case() -> None:
    proposed = comment(incident(ic="alice"), "/handoff @Bob").state
    accepted = comment(replace(proposed, applied=()), "/accept", BOB)
    assert accepted.state.ic == "bob"
    assert accepted.issue.assignees == ("bob",)


def test_the_target_saying_ic_me_accepts_even_without_the_responder_role() -> None:
    handoff = Handoff("ic", "alice", "carol", DECLARED, "Rolled back.")
    state = incident(ic="alice", pending_handoff=handoff)
    decision = comment(state, "/ic me", CAROL)
    body = assert_taken(decision, state)
    assert body.startswith(
        "@carol is now the Incident Commander for this incident, taking over from @alice.\n"
    )
    assert "What was handed over:\n\nRolled back." in body
    assert "withdrawn" not in body


@pytest.mark.parametrize(
    ("pending", "body", "actor", "reason"),
    [
        (None, "/accept", BOB, "`/accept` finds no pending handoff to accept."),
        (None, "/decline", BOB, "`/decline` finds no pending handoff to decline."),
        (None, "/cancel", ALICE, "`/cancel` finds no pending handoff to cancel."),
        ("bob", "/accept", DAVE, "`/accept` is for `@bob` only, who was asked to take over."),
        ("bob", "/decline", ALICE, "`/decline` is for `@bob` only, who was asked to take over."),
        ("bob", "/cancel", DAVE, "`/cancel` is for `@alice` only, who proposed the handoff."),
    ],
)
def test_handoff_answer_refusals(pending: str | None, body: str, actor: Actor, reason: str) -> None:
    handoff = Handoff("ic", "alice", pending, DECLARED) if pending else None
    state = incident(ic="alice", pending_handoff=handoff)
    assert_refused(comment(state, body, actor), state, reason)


def test_decline_tells_the_proposer_by_name() -> None:
    state = incident(ic="alice", pending_handoff=Handoff("ic", "alice", "bob", DECLARED))
    decision = comment(state, "/decline off shift in ten minutes", BOB)
    body = assert_taken(decision, state)
    assert body.startswith(
        "@alice, @bob declined to take over as Incident Commander. "
        "@alice stays the Incident Commander.\n"
    )
    assert "Reason: off shift in ten minutes" in body
    assert decision.state.pending_handoff is None
    assert decision.state.ic == "alice"


def test_the_proposer_cancels() -> None:
    state = incident(ic="alice", pending_handoff=Handoff("ic", "alice", "bob", DECLARED))
    decision = comment(state, "/cancel")
    assert "@alice withdrew the handoff proposed to @bob" in assert_taken(decision, state)
    assert decision.state.pending_handoff is None


def test_any_responder_cancels_a_handoff_proposed_while_there_was_no_ic() -> None:
    state = incident(pending_handoff=Handoff("ic", None, "bob", DECLARED))
    assert comment(state, "/cancel", DAVE).state.pending_handoff is None
    assert_refused(comment(state, "/cancel", ZED), state, "needs at least triage")


# --- liaison and SMEs ------------------------------------------------------------------------


def test_the_ic_sets_the_liaison_and_me_names_the_commenter() -> None:
    state = incident(ic="alice", liaison="bob")
    decision = comment(state, "/liaison me")
    assert decision.state.liaison == "alice"
    assert reply(decision) == (
        "@alice is now the External Liaison for this incident, taking over from @bob, "
        "and posts the stakeholder updates (`/update`).\n"
    )


def test_only_the_ic_sets_the_liaison_while_there_is_one() -> None:
    state = incident(ic="alice")
    assert_refused(comment(state, "/liaison me", BOB), state, "is for the Incident Commander")
    assert comment(incident(), "/liaison @dave", BOB).state.liaison == "dave"


def test_smes_are_added_with_an_area_and_removed() -> None:
    state = incident()
    added = comment(state, "/sme @dave database replication")
    assert added.state.smes == (Sme("dave", "database replication"),)
    assert reply(added) == (
        "@dave joins this incident as Subject Matter Expert for database replication.\n"
    )
    removed = comment(fresh(added), "/sme remove @dave")
    assert removed.state.smes == ()
    assert reply(removed) == "@dave is no longer a Subject Matter Expert on this incident.\n"


def test_naming_oneself_by_login_is_the_same_as_me() -> None:
    """The handler looks up everyone named except the commenter, who exists: `@Alice` written
    by alice is alice, not an unknown user."""
    added = comment(incident(), "/sme @Alice payments", users={})
    assert added.state.smes == (Sme("alice", "payments"),)
    assert comment(incident(ic="alice"), "/liaison @alice", users={}).state.liaison == "alice"


def test_removing_someone_who_is_not_an_sme_is_refused() -> None:
    state = incident()
    assert_refused(comment(state, "/sme remove @bob"), state, "names `@bob`, who is not a Subject")


# --- severity and status ---------------------------------------------------------------------


def test_severity_changes_the_label() -> None:
    state = incident()
    decision = comment(state, "/sev 1")
    assert assert_taken(decision, state) == (
        "Severity is now **sev1** (was sev3). Stakeholder updates are due every 30 min.\n"
    )
    assert decision.issue.labels == ("incident", "sev1", "status:investigating", "bug")


def test_an_unknown_severity_is_refused_with_the_configured_ones() -> None:
    state = incident()
    assert_refused(comment(state, "/severity sev9"), state, "sev1, sev2, sev3, sev4")


def test_status_changes_and_records_the_times() -> None:
    state = incident()
    identified = comment(state, "/status identified")
    assert identified.state.status == "identified"
    assert reply(identified) == "Status is now **identified** (was investigating).\n"
    assert identified.issue.labels == ("incident", "sev3", "status:identified", "bug")
    mitigated = comment(state, "/status mitigated")
    assert (mitigated.state.status, mitigated.state.mitigated_at) == ("mitigated", NOW)
    resolved = comment(state, "/status resolved")
    assert (resolved.state.status, resolved.state.resolved_at) == ("resolved", NOW)


def test_mitigated_records_the_time_and_quotes_the_text() -> None:
    state = incident()
    decision = comment(state, "/mitigated Traffic drained to eu-west-2.")
    body = assert_taken(decision, state)
    assert body.startswith("The incident is **mitigated** as of 2026-11-24 14:05 UTC, 1 h after")
    assert "Traffic drained to eu-west-2." in body
    mitigated = fresh(decision)
    again = comment(mitigated, "/mitigated", now=NOW + timedelta(hours=1))
    assert again.state == mitigated
    assert "mitigated since 2026-11-24 14:05 UTC" in reply(again)


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        ("resolved", "/mitigated", "cannot mark it mitigated: the incident is resolved"),
        ("closed", "/resolved", "cannot resolve it: the incident is closed; say `/reopen`"),
        ("resolved", "/status identified", "cannot set the status to identified"),
        ("closed", "/update still here", "the incident is closed"),
        (
            "investigating",
            "/reopen",
            "cannot reopen an incident that is still open (investigating)",
        ),
        ("investigating", "/confirm", "the incident is investigating, not resolved"),
        ("resolved", "/snooze 2h", "no updates are due while it is resolved"),
    ],
)
def test_commands_not_valid_in_the_current_status(status: str, body: str, reason: str) -> None:
    state = incident(status=Status(status), ic="alice")
    assert_refused(comment(state, body), state, reason)


def test_resolved_records_the_time() -> None:
    state = incident(status=Status.MITIGATED, mitigated_at=DECLARED)
    decision = comment(state, "/resolved config reverted")
    assert (decision.state.status, decision.state.resolved_at) == ("resolved", NOW)
    assert "resolved as of 2026-11-24 14:05 UTC" in reply(decision)
    assert decision.issue.labels == ("incident", "sev3", "status:resolved", "bug")


# --- updates and notes -----------------------------------------------------------------------


def test_an_update_says_what_we_know_and_when_the_next_one_is_due() -> None:
    state = incident(ic="alice", impact="EU customers cannot pay", snoozed_until=NOW)
    decision = comment(state, "/update Cause found: a bad config push.\nRolling back now.")
    body = assert_taken(decision, state)
    assert "### Status update: Checkout returns 502 (#42)" in body
    assert "**Impact:** EU customers cannot pay" in body
    assert "Cause found: a bad config push.\nRolling back now." in body
    assert "**Next update:** by 2026-11-24 18:05 UTC." in body
    assert (decision.state.last_update_at, decision.state.snoozed_until) == (NOW, None)


def test_the_liaison_posts_updates_even_without_the_responder_role() -> None:
    state = incident(ic="alice", liaison="carol")
    decision = comment(state, "/update Still rolling back.", CAROL)
    assert decision.state.last_update_at == NOW
    assert_refused(comment(state, "/update hello", ZED), state, "needs at least triage access")


def test_a_note_is_confirmed_with_its_time() -> None:
    state = incident()
    decision = comment(state, "/note Decided to fail over rather than wait.")
    assert reply(decision) == (
        "Noted for the timeline at 2026-11-24 14:05 UTC: Decided to fail over rather than wait.\n"
    )
    assert decision.state.has_applied(100)
    backdated = comment(state, "/note 13:50 Paged the database team.")
    assert "at 2026-11-24 13:50 UTC: Paged the database team." in reply(backdated)


def test_a_note_in_the_future_is_refused() -> None:
    state = incident()
    assert_refused(comment(state, "/note 2026-11-25 09:00 later"), state, "in the future")


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("13:50", datetime(2026, 11, 24, 13, 50, tzinfo=UTC)),
        ("14:05", NOW),
        ("23:10", datetime(2026, 11, 23, 23, 10, tzinfo=UTC)),  # later today: yesterday
        ("2026-11-20 08:00", datetime(2026, 11, 20, 8, 0, tzinfo=UTC)),
        ("2026-11-24T09:30Z", datetime(2026, 11, 24, 9, 30, tzinfo=UTC)),
        ("14:30 Europe/Paris", datetime(2026, 11, 24, 13, 30, tzinfo=UTC)),
        ("09:00 -05:00", datetime(2026, 11, 24, 14, 0, tzinfo=UTC)),
        ("10:00+0100", datetime(2026, 11, 24, 9, 0, tzinfo=UTC)),
        ("12:00:30 UTC", datetime(2026, 11, 24, 12, 0, 30, tzinfo=UTC)),
    ],
)
def test_note_times(token: str, expected: datetime) -> None:
    assert note_time(token, NOW) == expected


@given(st.datetimes(timezones=st.just(UTC)), st.integers(0, 23), st.integers(0, 59))
def test_a_time_of_day_is_never_in_the_future_nor_more_than_a_day_back(
    now: datetime, hour: int, minute: int
) -> None:
    moment = note_time(f"{hour:02}:{minute:02}", now)
    assert now - timedelta(days=1) < moment <= now


def test_a_note_in_an_unknown_zone_is_refused() -> None:
    state = incident()
    parsed = Command("note", "note", 1, word="10:00 Europe/Atlantis", text="x")
    decision = apply_comment(
        state, [parsed], [], ALICE, USERS, comment_id=100, issue=ISSUE, config=DEFAULTS, now=NOW
    )
    assert_refused(decision, state, "no time zone is called")


# --- the end of an incident ------------------------------------------------------------------


def test_reopening_a_resolved_incident() -> None:
    state = incident(status=Status.RESOLVED, resolved_at=DECLARED, confirmed_at=DECLARED, ic="bob")
    decision = comment(state, "/reopen errors are back")
    assert reply(decision).startswith("@alice reopened the incident (it was resolved)")
    after = decision.state
    assert (after.status, after.resolved_at, after.confirmed_at) == ("investigating", None, None)
    assert decision.issue.state is None  # the issue is still open


def test_reopening_a_closed_incident_reopens_the_issue() -> None:
    state = incident(status=Status.CLOSED, closed_at=DECLARED, close_reason="done")
    closed_issue = replace(ISSUE, state="closed", labels=("incident", "sev3", "status:closed"))
    decision = comment(state, "/reopen", issue=closed_issue)
    assert decision.issue.state == "open"
    assert decision.issue.state_reason == "reopened"
    assert decision.issue.labels == ("incident", "sev3", "status:investigating")
    assert (decision.state.closed_at, decision.state.close_reason) == (None, None)


def test_the_reporter_confirms_the_fix() -> None:
    state = incident(status=Status.RESOLVED, resolved_at=DECLARED)
    decision = comment(state, "/confirm works for us", CAROL)
    assert decision.state.confirmed_at == NOW
    assert "@carol confirmed the fix" in reply(decision)
    assert_refused(comment(state, "/confirm", ZED), state, "is for the reporter of the incident")


def test_the_ic_closes_now_with_a_reason() -> None:
    state = incident(status=Status.RESOLVED, ic="alice")
    decision = comment(state, "/close confirmed by phone")
    after = decision.state
    assert (after.status, after.closed_at, after.close_reason) == (
        "closed",
        NOW,
        "confirmed by phone",
    )
    assert decision.issue.state == "closed"
    assert decision.issue.state_reason == "completed"
    assert "Reason for closing: confirmed by phone" in reply(decision)


def test_only_the_ic_closes() -> None:
    state = incident(status=Status.RESOLVED, ic="alice")
    assert_refused(
        comment(state, "/close", BOB), state, "`/close` is for the Incident Commander, `@alice`."
    )
    no_ic = incident(status=Status.RESOLVED)
    assert_refused(comment(no_ic, "/close", BOB), no_ic, "there is none")


def test_snoozing_the_update_reminder() -> None:
    state = incident(ic="alice", liaison="bob")
    decision = comment(state, "/snooze 1h30m waiting for the vendor", BOB)
    assert decision.state.snoozed_until == NOW + timedelta(hours=1, minutes=30)
    assert reply(decision) == (
        "The stakeholder update reminder is snoozed until 2026-11-24 15:35 UTC.\n"
    )
    assert_refused(comment(state, "/snooze 2h", DAVE), state, "is for the Incident Commander")
    assert_refused(comment(state, "/snooze 9d"), state, "at most 7 days")


def test_action_opens_a_labelled_follow_up_issue_linked_to_the_incident() -> None:
    state = incident()
    decision = comment(
        state, "/action Add an alert on checkout 502s\nPage the SRE rota when it fires."
    )
    assert decision.reactions == TAKEN
    (follow_up,) = decision.new_issues
    assert follow_up.kind == "action"
    assert follow_up.title == "Add an alert on checkout 502s"
    assert follow_up.labels == ("incident-action-item",)
    assert f"#{ISSUE.number}" in follow_up.body and "Page the SRE rota" in follow_up.body
    assert decision.state.has_applied(100)
    linked = decision.state.with_linked_issue(follow_up.kind, 77)
    assert linked.actions == (77,)


def test_action_needs_its_text() -> None:
    state = incident()
    assert_refused(comment(state, "/action"), state)


def test_retro_opens_the_retrospective_once() -> None:
    state = incident()
    decision = comment(state, "/retro")
    (retro,) = decision.new_issues
    assert retro.kind == "retrospective"
    assert retro.title == f"Retrospective: {ISSUE.title} (#{ISSUE.number})"
    assert decision.state.with_linked_issue("retrospective", 80).retro == 80

    again = comment(replace(state, retro=80), "/retro")
    assert again.new_issues == ()
    assert "#80" in reply(again)


def test_resolving_starts_the_close_clock_and_opens_the_retrospective() -> None:
    thursday_noon = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    state = incident(status=Status.MITIGATED, mitigated_at=DECLARED)
    decision = comment(state, "/resolved rolled back the deploy", now=thursday_noon)
    after = decision.state
    assert (after.status, after.resolved_at, after.close_wait_from) == (
        "resolved",
        thursday_noon,
        thursday_noon,
    )
    words = reply(decision)
    assert "If you still see it, say so in a comment here" in words
    assert "closes 2026-11-30 12:00 UTC unless someone replies" in words
    assert [issue.kind for issue in decision.new_issues] == ["retrospective"]


def test_resolving_with_manual_retrospectives_opens_none() -> None:
    manual = replace(DEFAULTS, retrospective=replace(DEFAULTS.retrospective, open_on="manual"))
    state = incident(status=Status.MITIGATED, mitigated_at=DECLARED)
    decision = comment(state, "/resolved", config=manual)
    assert decision.state.status == "resolved"
    assert decision.new_issues == ()


# --- labels changed by hand ------------------------------------------------------------------


def hand(
    state: IncidentState, added: tuple[str, ...], removed: tuple[str, ...], labels: tuple[str, ...]
) -> Decision:
    issue = replace(ISSUE, labels=labels)
    return apply_label_change(state, added, removed, BOB, issue, DEFAULTS, NOW)


def test_a_severity_label_added_by_hand_sets_the_severity() -> None:
    decision = hand(incident(), ("sev1",), (), ("incident", "sev3", "status:investigating", "sev1"))
    assert decision.state.severity == "sev1"
    assert decision.state.last_activity_at == NOW
    assert decision.issue.labels == ("incident", "sev1", "status:investigating")
    assert decision.replies[0].body.startswith("Severity is now **sev1** (was sev3).")
    assert decision.replies[0].key == "labels:42:2026-11-24T14:05:00Z:+sev1"


def test_a_status_label_added_by_hand_sets_the_status() -> None:
    labels = ("incident", "sev3", "status:investigating", "status:mitigated")
    decision = hand(incident(), ("status:mitigated",), (), labels)
    assert (decision.state.status, decision.state.mitigated_at) == ("mitigated", NOW)
    assert decision.issue.labels == ("incident", "sev3", "status:mitigated")


def test_removing_the_severity_label_puts_it_back_and_says_so() -> None:
    decision = hand(incident(), (), ("sev3",), ("incident", "status:investigating"))
    assert decision.state.severity == "sev3"
    assert decision.issue.labels == ("incident", "status:investigating", "sev3")
    assert "The severity label is put back: this incident is **sev3**" in decision.replies[0].body


def test_a_status_label_that_is_not_allowed_is_undone_and_explained() -> None:
    state = incident(status=Status.CLOSED)
    labels = ("incident", "sev3", "status:closed", "status:mitigated")
    decision = hand(state, ("status:mitigated",), (), labels)
    assert decision.state == state
    assert decision.issue.labels == ("incident", "sev3", "status:closed")
    assert "That label change was not applied" in decision.replies[0].body


def test_other_labels_changed_by_hand_are_none_of_batons_business() -> None:
    state = incident()
    assert hand(state, ("bug",), ("customer",), ISSUE.labels) == Decision(state=state)


# --- hostile text ----------------------------------------------------------------------------

HOSTILE_PIECES = ["-->", "<!--", "@acme/sre", "|", "<script>alert(1)</script>", "<b>x</b>", "`"]
hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=20)), min_size=1, max_size=12
).map("".join)


def assert_inert(body: str) -> None:
    """No hidden marker anywhere; no HTML and no team mention where GitHub would render them:
    outside code, which shows text as written (a user may open a fence of their own)."""
    assert "-->" not in body
    assert "<!--" not in body
    rendered = outside_code(body)
    assert "<script" not in rendered
    assert "<b>" not in rendered
    assert "@acme/sre" not in rendered
    assert len(body) < 65536  # GitHub's limit for a comment


def outside_code(body: str) -> str:
    """The body's lines outside fenced and indented code blocks, as a CommonMark parser finds
    them (inline code spans stay: the checks above do not meet them in Baton's replies)."""
    lines = body.split("\n")
    for token in MarkdownIt("commonmark").parse(body):
        if token.type in ("fence", "code_block") and token.map is not None:
            start, end = token.map
            lines[start:end] = [""] * (end - start)
    return "\n".join(lines)


def free_text_decisions(text: str) -> list[Decision]:
    """Every reply that quotes free text, with `text` everywhere a user can put it."""
    issue = replace(ISSUE, title=text)
    pending = incident(ic="alice", pending_handoff=Handoff("ic", "alice", "bob", DECLARED, text))
    base = incident(ic="alice", impact=text, status=Status.RESOLVED)
    open_incident = incident(ic="alice", impact=text)

    def run(state: IncidentState, command: Command, actor: Actor = ALICE) -> Decision:
        return apply_comment(
            state,
            [command],
            [],
            actor,
            USERS,
            comment_id=100,
            issue=issue,
            config=DEFAULTS,
            now=NOW,
        )

    return [
        declare(issue, ALICE, DEFAULTS, NOW, impact=text, started=text),
        run(open_incident, Command("update", "update", 1, text=text)),
        run(open_incident, Command("note", "note", 1, text=text)),
        run(open_incident, Command("handoff", "handoff", 1, user="bob", text=text)),
        run(open_incident, Command("mitigated", "mitigated", 1, text=text)),
        run(open_incident, Command("resolved", "resolved", 1, text=text)),
        run(open_incident, Command("sme", "sme", 1, user="bob", text=text)),
        run(base, Command("close", "close", 1, text=text)),
        run(pending, Command("accept", "accept", 1), BOB),
        run(pending, Command("decline", "decline", 1, text=text), BOB),
    ]


@settings(max_examples=40, deadline=None)
@given(hostile_text)
@example("```<b>x</b>")  # a fence of the user's own: shown as code
@example("```@acme/sre")
@example("```\n```<script>alert(1)</script>")  # the user closes their fence: made inert
def test_user_text_cannot_break_out_of_any_reply(text: str) -> None:
    for decision in free_text_decisions(text):
        for posted in decision.replies:
            assert_inert(posted.body)


def test_seventy_thousand_characters_stay_within_a_comment() -> None:
    text = ("@acme/sre --> | <i>x</i> " * 3000)[:70_000]
    for decision in free_text_decisions(text):
        assert decision.replies
        assert_inert(decision.replies[0].body)


def test_a_huge_argument_in_a_syntax_problem_is_not_echoed() -> None:
    state = incident()
    huge = "@" + "x" * 70_000
    decision = comment(state, f"/liaison {huge}")
    body = assert_refused(decision, state, "`/liaison` is not written as its usage says.")
    assert len(body) < 2000


COMMAND_LINES = [
    "/ack", "/ic me", "/ic @bob", "/handoff @dave notes", "/accept", "/decline no", "/cancel",
    "/liaison @bob", "/sme @dave db", "/sme remove @dave", "/sev 1", "/severity sev9",
    "/status identified", "/mitigated", "/resolved", "/update all good", "/note 10:00 x",
    "/reopen", "/confirm", "/close", "/snooze 2h", "/help", "/hanoff @bob", "/liaison @ghost",
    "/action follow up", "/declare",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.one_of(st.sampled_from(COMMAND_LINES), hostile_text), max_size=6),
    actor=st.sampled_from([ALICE, BOB, DAVE, CAROL, ZED]),
    status=st.sampled_from(
        [Status.INVESTIGATING, Status.MITIGATED, Status.RESOLVED, Status.CLOSED]
    ),
    ic=st.sampled_from([None, "alice", "bob"]),
    pending_to=st.sampled_from([None, "bob", "dave"]),
)
def test_any_comment_is_all_or_nothing(
    lines: list[str],
    actor: Actor,
    status: Status,
    ic: str | None,
    pending_to: str | None,
) -> None:
    handoff = Handoff("ic", ic, pending_to, DECLARED) if pending_to else None
    state = incident(status=status, ic=ic, pending_handoff=handoff)
    decision = comment(state, "\n".join(lines), actor)
    assert len(decision.replies) <= 1
    for posted in decision.replies:
        assert_inert(posted.body)
    if decision.refused:
        assert decision.state == state
        assert decision.reactions == REFUSED
        assert decision.issue == IssueChange()
    elif decision.state != state:
        assert decision.reactions == TAKEN
        assert decision.state.has_applied(100)
        labels = decision.issue.labels or ISSUE.labels
        assert decision.state.severity in labels
        assert f"status:{decision.state.status}" in labels
        assert decision.state.ic is None or decision.state.ic in {"alice", "bob", "dave", "carol"}
        if decision.issue.assignees is not None:
            assert decision.issue.assignees == ((decision.state.ic,) if decision.state.ic else ())
