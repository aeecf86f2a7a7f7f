"""The clocks (docs/sweep.md): which nudges are due for an incident at a given moment, and the
countdown words the card shows.

Pure: no I/O, no clock reads; "now" is always a parameter.

Each nudge has a key that names its due time (`update@2026-11-24T10:30:00Z`,
`handoff@<requested_at>`, `stale@<last activity>`, `close@<resolution>`, or `no_ic` and
`escalate`, which happen once per incident). A nudge is due when its time has come and its key
is not yet in `state.nudges`; applying it records the key, so a second sweep posts nothing.

The update reminder repeats: its due times are the first due time (the last update, or the
declaration, plus the severity's cadence, postponed to the end of a snooze) and every cadence
after it. A sweep that missed several periods posts one reminder, for the latest of them.

"N working days without activity" counts whole working days of the calendar: the working day
in which the last activity happened does not count, and the incident turns stale when the
working day after the N-th quiet one begins, so nobody is pinged on a day off.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from app.incident import words
from app.incident.calendar import WorkingCalendar
from app.incident.effects import Decision, IssueChange, Reply
from app.incident.labels import labels_for
from app.incident.state import IncidentState, Status, format_time
from app.incident.text import when

if TYPE_CHECKING:
    from app.incident.config import Config

# Keys remembered in the state. Only the latest key of each kind can still be due, so older
# ones are dropped; the cap is a safety net for keys written by other versions.
NUDGE_MEMORY = 50
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Nudge:
    """One reminder (or the closing decision) that is due, with the comment it posts."""

    kind: str  # one of NUDGE_KINDS
    key: str
    due_at: datetime
    reply: Reply


@dataclass(frozen=True)
class CardClocks:
    """What the card says about the clocks."""

    next_update_due: datetime | None = None
    update_overdue: bool = False
    close_line: str | None = None
    report_line: str | None = None


# --- when each clock is due ------------------------------------------------------------------


def update_cadence(state: IncidentState, config: Config) -> timedelta | None:
    """The update cadence of the incident's severity (the default severity's if unknown)."""
    every = config.clocks.update_every
    return every.get(state.severity) or every.get(config.default_severity)


def first_update_due(state: IncidentState, config: Config) -> datetime | None:
    """When the next stakeholder update is due: the last one (or the declaration) plus the
    cadence, postponed to the end of a snooze."""
    cadence = update_cadence(state, config)
    since = state.last_update_at or state.declared_at
    if cadence is None or since is None:
        return None
    due = since + cadence
    if state.snoozed_until is not None and state.snoozed_until > due:
        return state.snoozed_until
    return due


def _update_period_due(state: IncidentState, config: Config, now: datetime) -> datetime | None:
    """The latest update due time at or before `now`: the first one, or a cadence after it."""
    first = first_update_due(state, config)
    cadence = update_cadence(state, config)
    if first is None or cadence is None or now < first:
        return None
    return first + cadence * ((now - first) // cadence)


def close_wait_start(state: IncidentState) -> datetime | None:
    """Since when the close wait counts: the resolution notice or the last community reply."""
    return state.close_wait_from or state.resolved_at


def close_due_at(
    state: IncidentState, config: Config, calendar: WorkingCalendar
) -> datetime | None:
    """When the working-hour wait of a resolved, unconfirmed incident ends; None otherwise."""
    start = close_wait_start(state)
    if state.status != Status.RESOLVED or state.confirmed_at is not None or start is None:
        return None
    return calendar.add_working_hours(start, config.clocks.close_after_working_hours)


def report_blocks_close(state: IncidentState, config: Config) -> bool:
    """The report condition: these severities close only once the retrospective is closed."""
    return state.severity in config.retrospective.required_for and not state.report_done


def _close_time(state: IncidentState, config: Config, calendar: WorkingCalendar) -> datetime | None:
    """When a resolved incident may close, leaving the report condition aside."""
    if state.status != Status.RESOLVED:
        return None
    if state.confirmed_at is not None:
        return state.confirmed_at
    return close_due_at(state, config, calendar)


def _stale_since(state: IncidentState) -> datetime | None:
    return state.last_activity_at or state.declared_at


def _quiet_days_begun(calendar: WorkingCalendar, since: datetime, moment: datetime) -> int:
    """Working days begun after the one `since` falls in, by `moment` (one that begins at
    `moment` counts)."""
    touched = calendar.working_days_between(since, moment + _MICROSECOND)
    return touched - 1 if calendar.is_working(since) and touched else touched


def stale_due_at(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> datetime | None:
    """When the incident turned stale, if it has by `now`; None when it has not."""
    since = _stale_since(state)
    threshold = config.clocks.stale_after_working_days + 1
    if since is None or _quiet_days_begun(calendar, since, now) < threshold:
        return None
    return _earliest(since, now, lambda t: _quiet_days_begun(calendar, since, t) >= threshold)


def _earliest(low: datetime, high: datetime, reached: Callable[[datetime], bool]) -> datetime:
    """The first microsecond in (low, high] at which a monotone condition holds (it holds at
    `high`)."""
    steps_low, steps_high = 0, (high - low) // _MICROSECOND
    while steps_high - steps_low > 1:
        middle = (steps_low + steps_high) // 2
        if reached(low + middle * _MICROSECOND):
            steps_high = middle
        else:
            steps_low = middle
    return low + steps_high * _MICROSECOND


# --- the nudges ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Due:
    """A clock that has run out: the nudge's key, its due time, and the moment it counts from."""

    key: str
    due_at: datetime
    since: datetime


_Clock = Callable[[IncidentState, "Config", WorkingCalendar, datetime], _Due | None]


def due_nudges(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> tuple[Nudge, ...]:
    """The nudges due at `now` that have not been posted yet, in a fixed order."""
    if state.status.is_open:
        clocks = _REMINDERS
    elif state.status == Status.RESOLVED:
        clocks = _CLOSING
    else:
        clocks = ()
    nudges = []
    for kind, clock in clocks:
        due = clock(state, config, calendar, now)
        if due is not None and due.key not in state.nudges:
            nudges.append(_nudge(kind, due, state, config))
    return tuple(nudges)


def _no_ic_clock(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> _Due | None:
    declared = state.declared_at
    if state.ic is not None or declared is None:
        return None
    due_at = declared + config.clocks.acknowledge_within
    return _Due("no_ic", due_at, declared) if now >= due_at else None


def _escalate_clock(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> _Due | None:
    declared = state.declared_at
    if declared is None:
        return None
    due_at = declared + config.clocks.escalate_after
    return _Due("escalate", due_at, declared) if now >= due_at else None


def _update_clock(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> _Due | None:
    due_at = _update_period_due(state, config, now)
    since = state.last_update_at or state.declared_at
    if due_at is None or since is None:
        return None
    return _Due(f"update@{format_time(due_at)}", due_at, since)


def _handoff_clock(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> _Due | None:
    handoff = state.pending_handoff
    if handoff is None:
        return None
    due_at = handoff.requested_at + config.clocks.handoff_reminder
    key = f"handoff@{format_time(handoff.requested_at)}"
    return _Due(key, due_at, handoff.requested_at) if now >= due_at else None


def _stale_clock(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> _Due | None:
    since = _stale_since(state)
    if since is None:
        return None
    key = f"stale@{format_time(since)}"
    # Already posted: skip the search for the exact moment it turned stale.
    due_at = None if key in state.nudges else stale_due_at(state, config, calendar, now)
    return _Due(key, due_at, since) if due_at is not None else None


def _close_clock(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> _Due | None:
    close_at = _close_time(state, config, calendar)
    since = state.confirmed_at or close_wait_start(state)
    if close_at is None or since is None or now < close_at or report_blocks_close(state, config):
        return None
    resolution = state.resolved_at or since
    return _Due(f"close@{format_time(resolution)}", close_at, since)


_REMINDERS: tuple[tuple[str, _Clock], ...] = (
    ("no_ic", _no_ic_clock),
    ("escalate", _escalate_clock),
    ("update_overdue", _update_clock),
    ("handoff_unanswered", _handoff_clock),
    ("stale", _stale_clock),
)
_CLOSING: tuple[tuple[str, _Clock], ...] = (("close", _close_clock),)
NUDGE_KINDS = tuple(kind for kind, _ in (*_REMINDERS, *_CLOSING))


def _nudge(kind: str, due: _Due, state: IncidentState, config: Config) -> Nudge:
    body = words.render(
        f"nudge/{kind}.md.j2",
        state=state,
        config=config,
        due_at=due.due_at,
        since=due.since,
        team=config.escalation.team,
        cadence=_spoken_duration(update_cadence(state, config)),
        hours=_spoken_hours(config.clocks.close_after_working_hours),
        days=config.clocks.stale_after_working_days,
    )
    reply = Reply(key=f"nudge:{due.key}", body=body)
    return Nudge(kind=kind, key=due.key, due_at=due.due_at, reply=reply)


def _spoken_duration(duration: timedelta | None) -> str:
    """`30 minutes`, `4 hours`, `1 day`, `1 hour 30 minutes`."""
    if duration is None:
        return "—"
    seconds = int(duration.total_seconds())
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount} {unit}{'s' if amount != 1 else ''}")
    return " ".join(parts) or "0 minutes"


def _spoken_hours(hours: float) -> str:
    """48.0 -> `48`, 12.5 -> `12.5`."""
    return f"{hours:g}"


def apply_nudges(
    state: IncidentState,
    nudges: Sequence[Nudge],
    config: Config,
    now: datetime,
    current_labels: Sequence[str] = (),
) -> Decision:
    """The decision for one sweep of one incident: keys recorded, the stale label or the
    closing applied, and one comment carrying every nudge."""
    if not nudges:
        return Decision(state=state)
    kinds = {nudge.kind for nudge in nudges}
    new_state = replace(state, nudges=remember(state.nudges, [nudge.key for nudge in nudges]))
    if "stale" in kinds:
        new_state = replace(new_state, stale=True)
    closing = "close" in kinds
    if closing:
        new_state = replace(new_state, status=Status.CLOSED, closed_at=now)
    labels = labels_for(new_state, current_labels, config)
    issue = IssueChange(
        labels=None if labels == tuple(current_labels) else labels,
        state="closed" if closing else None,
        state_reason="completed" if closing else None,
    )
    body = "\n".join(nudge.reply.body for nudge in nudges)
    reply = Reply(key=f"nudges:{nudges[0].key}", body=body)
    return Decision(state=new_state, issue=issue, replies=(reply,))


def remember(known: Sequence[str], keys: Sequence[str]) -> tuple[str, ...]:
    """The nudge keys afterwards: a new key replaces the older keys of its kind, and at most
    NUDGE_MEMORY keys are kept (the most recent last)."""
    kinds = {_key_kind(key) for key in keys}
    kept = [key for key in known if _key_kind(key) not in kinds]
    return tuple(dict.fromkeys([*kept, *keys]))[-NUDGE_MEMORY:]


def _key_kind(key: str) -> str:
    return key.split("@", 1)[0]


# --- the card's words ------------------------------------------------------------------------


def card_view_fields(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> CardClocks:
    """The update due time and the closing words the card shows at `now`."""
    next_update = first_update_due(state, config) if state.status.is_open else None
    resolved = state.status == Status.RESOLVED
    waits_for_report = resolved and report_blocks_close(state, config)
    return CardClocks(
        next_update_due=next_update,
        update_overdue=next_update is not None and now >= next_update,
        close_line=_close_line(state, config, calendar, now) if resolved else None,
        report_line=_report_line(state) if waits_for_report else None,
    )


def _close_line(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> str | None:
    close_at = _close_time(state, config, calendar)
    start = close_wait_start(state)
    if close_at is None:
        return None
    if now < close_at and state.confirmed_at is None and start is not None:
        total = config.clocks.close_after_working_hours
        left = total - calendar.working_hours_between(start, now)
        left_words = f"{math.floor(left)}" if left >= 1 else "less than 1"
        return (
            f"closes {when(close_at)} unless someone replies; "
            f"{left_words} of {_spoken_hours(total)} working hours left"
        )
    if report_blocks_close(state, config):
        return "closes as soon as the report is done"
    return "closes now"


def _report_line(state: IncidentState) -> str:
    if state.retro is None:
        return "waits for a retrospective issue: say `/retro`"
    return f"waits for the retrospective #{state.retro} to be closed"


__all__ = [
    "NUDGE_KINDS",
    "NUDGE_MEMORY",
    "CardClocks",
    "Nudge",
    "apply_nudges",
    "card_view_fields",
    "close_due_at",
    "close_wait_start",
    "due_nudges",
    "first_update_due",
    "remember",
    "report_blocks_close",
    "stale_due_at",
    "update_cadence",
]
