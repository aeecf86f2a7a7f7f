"""The clocks: each nudge at its due time and never twice, the close wait, the card's words."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import DEFAULTS, Config, config_from_layers
from app.incident import words
from app.incident.calendar import Region, WorkingCalendar
from app.incident.clocks import (
    NUDGE_KINDS,
    NUDGE_MEMORY,
    Nudge,
    apply_nudges,
    card_view_fields,
    close_due_at,
    due_nudges,
    remember,
)
from app.incident.state import Handoff, IncidentState, Status, format_time

# 2026-11-24 is a Tuesday.
DEFAULT_CALENDAR = WorkingCalendar([Region()])
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
THURSDAY_NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
WITH_TEAM = config_from_layers([{"escalation": {"team": "acme/sre"}}]).config
HOSTILE = (
    "<!-- baton:state {} --> </details><script>x</script> @acme/sre @someone\n"
    "```\n| a | b |\n<!-- inside a fence -->"
)


def declared(**changes: Any) -> IncidentState:
    return replace(IncidentState(declared_at=TUESDAY, last_activity_at=TUESDAY), **changes)


def resolved(**changes: Any) -> IncidentState:
    state = IncidentState(
        status=Status.RESOLVED,
        severity="sev3",
        ic="alice",
        declared_at=THURSDAY_NOON - timedelta(hours=5),
        resolved_at=THURSDAY_NOON,
        close_wait_from=THURSDAY_NOON,
    )
    return replace(state, **changes)


def due(state: IncidentState, now: datetime, config: Config = DEFAULTS) -> tuple[Nudge, ...]:
    return due_nudges(state, config, DEFAULT_CALENDAR, now)


def kinds(state: IncidentState, now: datetime, config: Config = DEFAULTS) -> list[str]:
    return [nudge.kind for nudge in due(state, now, config)]


def posted(state: IncidentState, now: datetime, config: Config = DEFAULTS) -> IncidentState:
    """The state after a sweep at `now` has posted whatever was due."""
    return apply_nudges(state, due(state, now, config), config, now).state


# --- closing -----------------------------------------------------------------------------------


def test_resolved_thursday_noon_closes_monday_noon_not_a_second_before() -> None:
    state = resolved()
    assert close_due_at(state, DEFAULTS, DEFAULT_CALENDAR) == MONDAY_NOON
    assert kinds(state, MONDAY_NOON - SECOND) == []
    [close] = due(state, MONDAY_NOON)
    assert (close.kind, close.due_at) == ("close", MONDAY_NOON)
    assert "48 working hours since 2026-11-26 12:00 UTC" in close.reply.body


def test_closing_closes_the_issue_as_completed() -> None:
    decision = apply_nudges(resolved(), due(resolved(), MONDAY_NOON), DEFAULTS, MONDAY_NOON)
    assert decision.state.status == "closed"
    assert decision.state.closed_at == MONDAY_NOON
    assert (decision.issue.state, decision.issue.state_reason) == ("closed", "completed")
    assert decision.issue.labels is not None and "status:closed" in decision.issue.labels
    assert due(decision.state, MONDAY_NOON + timedelta(days=30)) == ()


def test_a_community_reply_restarts_the_wait() -> None:
    reply_at = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    state = resolved(close_wait_from=reply_at)
    assert kinds(state, MONDAY_NOON) == []
    wait_ends = reply_at + timedelta(hours=48)
    assert close_due_at(state, DEFAULTS, DEFAULT_CALENDAR) == wait_ends
    assert kinds(state, wait_ends - SECOND) == []
    assert kinds(state, wait_ends) == ["close"]


def test_confirmed_closes_at_once() -> None:
    confirmed_at = THURSDAY_NOON + timedelta(hours=1)
    state = resolved(confirmed_at=confirmed_at)
    assert close_due_at(state, DEFAULTS, DEFAULT_CALENDAR) is None
    [close] = due(state, confirmed_at)
    assert "The fix was confirmed at 2026-11-26 13:00 UTC" in close.reply.body
    assert card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, confirmed_at).close_line == (
        "closes now"
    )


@pytest.mark.parametrize(
    ("retro", "report_line"),
    [
        (12, "waits for the retrospective #12 to be closed"),
        (None, "waits for a retrospective issue: say `/retro`"),
    ],
)
def test_sev1_waits_for_its_report_and_the_card_says_so(
    retro: int | None, report_line: str
) -> None:
    state = resolved(severity="sev1", retro=retro)
    later = MONDAY_NOON + timedelta(days=10)
    assert kinds(state, later) == []
    card = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, later)
    assert card.close_line == "closes as soon as the report is done"
    assert card.report_line == report_line
    waiting = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, THURSDAY_NOON)
    assert waiting.close_line is not None and waiting.close_line.startswith("closes 2026-11-30")
    assert waiting.report_line == report_line
    done = replace(state, report_done=True)
    assert kinds(done, later) == ["close"]
    assert card_view_fields(done, DEFAULTS, DEFAULT_CALENDAR, later).report_line is None


def test_confirmed_sev1_closes_as_soon_as_the_report_is_done() -> None:
    state = resolved(severity="sev2", retro=7, confirmed_at=THURSDAY_NOON)
    card = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, THURSDAY_NOON)
    assert card.close_line == "closes as soon as the report is done"
    assert kinds(state, THURSDAY_NOON) == []
    assert kinds(replace(state, report_done=True), THURSDAY_NOON) == ["close"]


def test_card_countdown_in_the_specs_words() -> None:
    state = resolved()
    friday_early = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # 17 working hours in
    card = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, friday_early)
    assert card.close_line == (
        "closes 2026-11-30 12:00 UTC unless someone replies; 31 of 48 working hours left"
    )
    just_before = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, MONDAY_NOON - 30 * SECOND)
    assert just_before.close_line == (
        "closes 2026-11-30 12:00 UTC unless someone replies; less than 1 of 48 working hours left"
    )
    assert card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, MONDAY_NOON).close_line == (
        "closes now"
    )


def test_hours_left_round_down() -> None:
    state = resolved()
    card = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, THURSDAY_NOON + 90 * SECOND)
    assert card.close_line is not None and "; 47 of 48 working hours left" in card.close_line


def test_a_wait_started_on_a_weekend_starts_on_monday() -> None:
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    state = resolved(resolved_at=saturday, close_wait_from=saturday)
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    assert close_due_at(state, DEFAULTS, DEFAULT_CALENDAR) == monday + timedelta(hours=48)
    sunday = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    card = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, sunday)
    assert card.close_line == (
        "closes 2026-12-02 00:00 UTC unless someone replies; 48 of 48 working hours left"
    )


def test_office_hours_count_only_working_time() -> None:
    london = WorkingCalendar([Region("Europe/London", start_minute=9 * 60, end_minute=17 * 60)])
    state = resolved(close_wait_from=datetime(2026, 11, 26, 20, 0, tzinfo=UTC))  # after hours
    # 48 office hours are six 8-hour days: Fri, Mon, Tue, Wed, Thu, Fri.
    assert close_due_at(state, DEFAULTS, london) == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)


# --- reminders ---------------------------------------------------------------------------------


def test_no_ic_pings_the_escalation_team_once_after_fifteen_minutes() -> None:
    state = declared(severity="sev4")
    assert "no_ic" not in kinds(state, TUESDAY + timedelta(minutes=15) - SECOND, WITH_TEAM)
    nudges = due(state, TUESDAY + timedelta(minutes=15), WITH_TEAM)
    [no_ic] = [nudge for nudge in nudges if nudge.kind == "no_ic"]
    assert (no_ic.key, no_ic.due_at) == ("no_ic", TUESDAY + timedelta(minutes=15))
    assert no_ic.reply.body.startswith("@acme/sre: nobody has taken the Incident Commander role")
    assert "`/ic me`" in no_ic.reply.body
    after = posted(state, TUESDAY + timedelta(minutes=15), WITH_TEAM)
    assert "no_ic" not in kinds(after, TUESDAY + timedelta(minutes=20), WITH_TEAM)
    assert "no_ic" not in kinds(declared(ic="alice"), TUESDAY + timedelta(hours=1))


def test_no_ic_without_an_escalation_team_says_nobody_was_paged() -> None:
    [no_ic] = [n for n in due(declared(), TUESDAY + timedelta(minutes=16)) if n.kind == "no_ic"]
    assert "No escalation team is configured" in no_ic.reply.body
    assert "@" not in no_ic.reply.body


def test_escalation_once_ever_after_thirty_minutes() -> None:
    state = declared(ic="alice", severity="sev4")
    assert kinds(state, TUESDAY + timedelta(minutes=30) - SECOND, WITH_TEAM) == []
    assert kinds(state, TUESDAY + timedelta(minutes=30), WITH_TEAM) == ["escalate"]
    after = posted(state, TUESDAY + timedelta(minutes=30), WITH_TEAM)
    assert "escalate" not in kinds(after, TUESDAY + timedelta(days=3), WITH_TEAM)
    mitigated = replace(state, status=Status.MITIGATED)
    assert "escalate" in kinds(mitigated, TUESDAY + timedelta(hours=1), WITH_TEAM)


def test_update_reminder_reminds_the_liaison_once_per_period() -> None:
    state = declared(ic="alice", liaison="bob", severity="sev2")  # every hour
    first = TUESDAY + timedelta(hours=1)
    assert "update_overdue" not in kinds(state, first - SECOND)
    [update] = [n for n in due(state, first) if n.kind == "update_overdue"]
    assert update.key == "update@2026-11-24T11:00:00Z"
    assert update.reply.body.startswith("@bob: a stakeholder update was due at 2026-11-24 11:00")
    assert "`/update " in update.reply.body and "`/snooze 2h`" in update.reply.body
    after = posted(state, first)
    assert "update_overdue" not in kinds(after, first + timedelta(minutes=59))
    [again] = [n for n in due(after, first + timedelta(hours=1)) if n.kind == "update_overdue"]
    assert again.key == "update@2026-11-24T12:00:00Z"


def test_a_late_sweep_posts_one_update_reminder_for_the_latest_period() -> None:
    state = declared(ic="alice", severity="sev1", last_update_at=TUESDAY)
    now = TUESDAY + timedelta(hours=2, minutes=10)
    [update] = [n for n in due(state, now) if n.kind == "update_overdue"]
    assert update.due_at == TUESDAY + timedelta(hours=2)


def test_an_update_resets_the_reminder() -> None:
    state = declared(ic="alice", severity="sev2", last_update_at=TUESDAY + timedelta(minutes=40))
    assert "update_overdue" not in kinds(state, TUESDAY + timedelta(hours=1, minutes=39))
    assert "update_overdue" in kinds(state, TUESDAY + timedelta(hours=1, minutes=40))


def test_snooze_postpones_the_update_reminder() -> None:
    state = declared(ic="alice", severity="sev2", snoozed_until=TUESDAY + timedelta(hours=3))
    assert "update_overdue" not in kinds(state, TUESDAY + timedelta(hours=3) - SECOND)
    [update] = [n for n in due(state, TUESDAY + timedelta(hours=3)) if n.kind == "update_overdue"]
    assert update.key == "update@2026-11-24T13:00:00Z"
    card = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, TUESDAY + timedelta(hours=2))
    assert (card.next_update_due, card.update_overdue) == (TUESDAY + timedelta(hours=3), False)


def test_a_snooze_that_ended_before_the_due_time_changes_nothing() -> None:
    state = declared(ic="alice", severity="sev2", snoozed_until=TUESDAY + timedelta(minutes=5))
    assert "update_overdue" in kinds(state, TUESDAY + timedelta(hours=1))


def test_card_shows_the_next_update_and_whether_it_is_overdue() -> None:
    state = declared(ic="alice", severity="sev3")
    card = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, TUESDAY + timedelta(hours=5))
    assert card.next_update_due == TUESDAY + timedelta(hours=4)
    assert card.update_overdue
    assert (card.close_line, card.report_line) == (None, None)


def test_handoff_reminder_once_per_handoff() -> None:
    handoff = Handoff(role="ic", from_login="alice", to="bob", requested_at=TUESDAY)
    state = declared(ic="alice", severity="sev4", pending_handoff=handoff)
    assert "handoff_unanswered" not in kinds(state, TUESDAY + timedelta(minutes=30) - SECOND)
    nudges = due(state, TUESDAY + timedelta(minutes=30))
    [reminder] = [n for n in nudges if n.kind == "handoff_unanswered"]
    assert reminder.key == "handoff@2026-11-24T10:00:00Z"
    assert reminder.reply.body.startswith(
        "@bob: @alice asked you at 2026-11-24 10:00 UTC to take over"
    )
    assert "`/accept`" in reminder.reply.body and "`/decline [reason]`" in reminder.reply.body
    assert "@alice: until @bob accepts" in reminder.reply.body
    after = posted(state, TUESDAY + timedelta(minutes=30))
    assert "handoff_unanswered" not in kinds(after, TUESDAY + timedelta(hours=5))
    second = replace(handoff, to="carol", requested_at=TUESDAY + timedelta(hours=1))
    again = replace(after, pending_handoff=second)
    assert "handoff_unanswered" in kinds(again, TUESDAY + timedelta(hours=1, minutes=30))


def test_stale_after_five_working_days_not_counting_the_weekend() -> None:
    # Activity on Thursday; Fri, Mon, Tue, Wed and Thu are quiet: stale as Friday begins.
    state = declared(ic="alice", severity="sev4", last_activity_at=THURSDAY_NOON)
    turns_stale = datetime(2026, 12, 4, tzinfo=UTC)
    assert "stale" not in kinds(state, THURSDAY_NOON + timedelta(days=7))
    assert "stale" not in kinds(state, turns_stale - SECOND)
    [stale] = [n for n in due(state, turns_stale) if n.kind == "stale"]
    assert (stale.key, stale.due_at) == ("stale@2026-11-26T12:00:00Z", turns_stale)
    assert stale.reply.body.startswith("@alice: nothing has happened on this incident since")
    current = ["incident", "sev4", "status:investigating"]
    decision = apply_nudges(state, (stale,), DEFAULTS, turns_stale, current)
    assert decision.state.stale
    assert decision.issue.labels == ("incident", "sev4", "status:investigating", "stale")
    assert "stale" not in kinds(decision.state, turns_stale + timedelta(days=20))


def test_new_activity_starts_a_new_stale_period() -> None:
    state = declared(ic="alice", severity="sev4", last_activity_at=THURSDAY_NOON)
    after = posted(state, datetime(2026, 12, 4, tzinfo=UTC))
    active_again = replace(after, stale=False, last_activity_at=datetime(2026, 12, 7, tzinfo=UTC))
    assert "stale" not in kinds(active_again, datetime(2026, 12, 11, tzinfo=UTC))
    assert "stale" in kinds(active_again, datetime(2026, 12, 15, tzinfo=UTC))


def test_the_stale_label_is_not_added_twice() -> None:
    state = declared(ic="alice", last_activity_at=THURSDAY_NOON)
    now = datetime(2026, 12, 4, tzinfo=UTC)
    stale = [n for n in due(state, now) if n.kind == "stale"]
    current = ["Stale", "incident", state.severity, "status:investigating"]
    decision = apply_nudges(state, stale, DEFAULTS, now, current)
    assert decision.issue.labels is None  # already as it should be: nothing to write


def test_closed_incidents_get_nothing() -> None:
    handoff = Handoff(role="ic", from_login=None, to="bob", requested_at=TUESDAY)
    state = declared(status=Status.CLOSED, pending_handoff=handoff, resolved_at=TUESDAY)
    assert due(state, TUESDAY + timedelta(days=60)) == ()
    card = card_view_fields(state, DEFAULTS, DEFAULT_CALENDAR, TUESDAY + timedelta(days=60))
    assert card == type(card)(None, False, None, None)


def test_resolved_incidents_get_only_the_close() -> None:
    handoff = Handoff(role="ic", from_login=None, to="bob", requested_at=TUESDAY)
    state = resolved(ic=None, pending_handoff=handoff, declared_at=TUESDAY, last_update_at=None)
    assert kinds(state, MONDAY_NOON + timedelta(days=10)) == ["close"]


# --- one comment per sweep ------------------------------------------------------------------


def test_one_sweep_posts_one_comment_with_every_nudge() -> None:
    state = declared(severity="sev1")
    now = TUESDAY + timedelta(hours=1)
    nudges = due(state, now, WITH_TEAM)
    assert [n.kind for n in nudges] == ["no_ic", "escalate", "update_overdue"]
    decision = apply_nudges(
        state, nudges, WITH_TEAM, now, ["incident", "sev1", "status:investigating"]
    )
    [reply] = decision.replies
    assert reply.key == "nudges:no_ic"
    assert all(nudge.reply.body.strip() in reply.body for nudge in nudges)
    assert decision.state.nudges == tuple(n.key for n in nudges)
    assert decision.issue.labels is None and decision.issue.state is None


def test_nothing_due_decides_nothing() -> None:
    state = declared(ic="alice")
    decision = apply_nudges(state, (), DEFAULTS, TUESDAY)
    assert decision.state == state and decision.replies == ()


def test_remembered_keys_stay_bounded_and_keep_the_once_only_ones() -> None:
    keys: tuple[str, ...] = ("no_ic", "escalate")
    for hour in range(200):
        keys = remember(keys, [f"update@{format_time(TUESDAY + timedelta(hours=hour))}"])
    assert len(keys) <= NUDGE_MEMORY
    assert keys == ("no_ic", "escalate", "update@2026-12-02T17:00:00Z")
    many = remember((), [f"other{n}" for n in range(NUDGE_MEMORY + 10)])
    assert len(many) == NUDGE_MEMORY and many[-1] == f"other{NUDGE_MEMORY + 9}"


# --- hostile text in the comments ------------------------------------------------------------


def assert_inert(body: str) -> None:
    assert "<!--" not in body
    assert "<script" not in body and "</details" not in body
    assert "@acme/sre" not in body


def test_every_kind_has_its_template() -> None:
    environment = words.environment()
    for kind in NUDGE_KINDS:
        assert environment.get_template(f"nudge/{kind}.md.j2") is not None


def test_hostile_handoff_notes_are_made_inert() -> None:
    handoff = Handoff(role="ic", from_login="alice", to="bob", requested_at=TUESDAY, notes=HOSTILE)
    state = declared(ic="alice", severity="sev4", pending_handoff=handoff)
    [reminder] = [
        n for n in due(state, TUESDAY + timedelta(hours=1)) if n.kind == "handoff_unanswered"
    ]
    assert_inert(reminder.reply.body)
    assert "Handoff notes" in reminder.reply.body
    assert reminder.reply.body.count("```") % 2 == 0


@settings(max_examples=60, deadline=None)
@given(
    notes=st.builds(lambda a, b: a + HOSTILE + b, st.text(max_size=100), st.text(max_size=100)),
    severity=st.text(min_size=1, max_size=40),
)
def test_any_notes_and_severity_render_inert(notes: str, severity: str) -> None:
    handoff = Handoff(role="ic", from_login=None, to="bob", requested_at=TUESDAY, notes=notes)
    state = declared(severity=severity, pending_handoff=handoff)
    nudges = due(state, TUESDAY + timedelta(days=10), WITH_TEAM)
    assert [n.kind for n in nudges] == [
        "no_ic",
        "escalate",
        "update_overdue",
        "handoff_unanswered",
        "stale",
    ]
    for nudge in nudges:
        assert "<!--" not in nudge.reply.body
        first_line = nudge.reply.body.split("\n", 1)[0]
        assert first_line.startswith(("@acme/sre: ", "_unassigned_: ", "@bob: "))
        assert "\n" not in first_line


# --- properties -------------------------------------------------------------------------------

BASE = datetime(2026, 1, 1, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=400 * 24 * 60).map(
    lambda minutes: BASE + timedelta(minutes=minutes)
)
logins = st.sampled_from(["alice", "bob", "carol"])
handoffs = st.builds(
    Handoff, role=st.just("ic"), from_login=st.none() | logins, to=logins, requested_at=moments
)
states = st.builds(
    IncidentState,
    status=st.sampled_from(Status),
    severity=st.sampled_from(["sev1", "sev2", "sev3", "sev4", "sev9"]),
    ic=st.none() | logins,
    liaison=st.none() | logins,
    pending_handoff=st.none() | handoffs,
    declared_at=st.none() | moments,
    last_update_at=st.none() | moments,
    resolved_at=st.none() | moments,
    close_wait_from=st.none() | moments,
    confirmed_at=st.none() | moments,
    retro=st.none() | st.integers(min_value=1, max_value=999),
    report_done=st.booleans(),
    snoozed_until=st.none() | moments,
    stale=st.booleans(),
    last_activity_at=st.none() | moments,
    nudges=st.lists(st.sampled_from(["no_ic", "escalate", "close", "update@x"]), max_size=3).map(
        tuple
    ),
)
configs = st.sampled_from(
    [
        DEFAULTS,
        WITH_TEAM,
        config_from_layers(
            [
                {
                    "clocks": {"close_after_working_hours": 2.5, "stale_after_working_days": 1},
                    "retrospective": {"required_for": []},
                    "working_hours": [
                        {"timezone": "Europe/London", "start": "09:00", "end": "17:00"}
                    ],
                }
            ]
        ).config,
    ]
)


def calendar_of(config: Config) -> WorkingCalendar:
    return WorkingCalendar(config.working_hours)


@settings(max_examples=150, deadline=None)
@given(
    state=states,
    config=configs,
    now=moments,
    later=st.timedeltas(timedelta(0), timedelta(minutes=10)),
)
def test_a_second_sweep_posts_nothing_new(
    state: IncidentState, config: Config, now: datetime, later: timedelta
) -> None:
    calendar = calendar_of(config)
    nudges = due_nudges(state, config, calendar, now)
    assert len({nudge.key for nudge in nudges}) == len(nudges)
    assert all(nudge.due_at <= now for nudge in nudges)
    decision = apply_nudges(state, nudges, config, now, ["incident"])
    assert due_nudges(decision.state, config, calendar, now) == ()
    assert len(decision.replies) == (1 if nudges else 0)
    # A little later, only clocks that ran out after `now` can have anything to say.
    assert all(n.due_at > now for n in due_nudges(decision.state, config, calendar, now + later))
    card_view_fields(decision.state, config, calendar, now + later)
    if state.status in ("closed", "resolved"):
        assert {nudge.kind for nudge in nudges} <= {"close"}
