"""The clocks (SPEC §5): which nudges are due for an incident at a given moment, and the
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
from app.incident.state import OPEN_STATUSES, IncidentState, format_time
from app.incident.text import when

if TYPE_CHECKING:
    from app.config import Config

NUDGE_KINDS = ("no_ic", "escalate", "update_overdue", "handoff_unanswered", "stale", "close")
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
    """What the card says about the clocks, in the SPEC's words."""

    next_update_due: datetime | None
    update_overdue: bool
    close_line: str | None
    report_line: str | None


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
    if state.status != "resolved" or state.confirmed_at is not None or start is None:
        return None
    return calendar.add_working_hours(start, config.clocks.close_after_working_hours)


def report_blocks_close(state: IncidentState, config: Config) -> bool:
    """The report condition: these severities close only once the retrospective is closed."""
    return state.severity in config.retrospective.required_for and not state.report_done


def _close_time(state: IncidentState, config: Config, calendar: WorkingCalendar) -> datetime | None:
    """When a resolved incident may close, leaving the report condition aside."""
    if state.status != "resolved":
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


def due_nudges(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> tuple[Nudge, ...]:
    """The nudges due at `now` that have not been posted yet, in a fixed order."""
    if state.status in OPEN_STATUSES:
        candidates = _reminders(state, config, calendar, now)
    elif state.status == "resolved":
        candidates = _closing(state, config, calendar, now)
    else:
        candidates = []
    return tuple(nudge for nudge in candidates if nudge.key not in state.nudges)


def _reminders(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> list[Nudge]:
    clocks = config.clocks
    nudges: list[Nudge] = []
    declared = state.declared_at
    if declared is not None and state.ic is None and now >= declared + clocks.acknowledge_within:
        nudges.append(_nudge("no_ic", "no_ic", declared + clocks.acknowledge_within, state, config))
    if declared is not None and now >= declared + clocks.escalate_after:
        nudges.append(
            _nudge("escalate", "escalate", declared + clocks.escalate_after, state, config)
        )
    update_due = _update_period_due(state, config, now)
    if update_due is not None:
        key = f"update@{format_time(update_due)}"
        nudges.append(_nudge("update_overdue", key, update_due, state, config))
    handoff = state.pending_handoff
    if handoff is not None and now >= handoff.requested_at + clocks.handoff_reminder:
        key = f"handoff@{format_time(handoff.requested_at)}"
        due = handoff.requested_at + clocks.handoff_reminder
        nudges.append(_nudge("handoff_unanswered", key, due, state, config))
    stale_due = stale_due_at(state, config, calendar, now)
    stale_since = _stale_since(state)
    if stale_due is not None and stale_since is not None:
        key = f"stale@{format_time(stale_since)}"
        nudges.append(_nudge("stale", key, stale_due, state, config))
    return nudges


def _closing(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> list[Nudge]:
    close_at = _close_time(state, config, calendar)
    resolution = state.resolved_at or close_wait_start(state)
    if close_at is None or now < close_at or report_blocks_close(state, config):
        return []
    key = f"close@{format_time(resolution)}" if resolution else "close"
    return [_nudge("close", key, close_at, state, config)]


def _nudge(kind: str, key: str, due_at: datetime, state: IncidentState, config: Config) -> Nudge:
    body = words.render(
        f"nudge/{kind}.md.j2",
        state=state,
        config=config,
        due_at=due_at,
        since=_since(kind, state),
        team=config.escalation.team,
        cadence=_spoken_duration(update_cadence(state, config)),
        hours=_spoken_hours(config.clocks.close_after_working_hours),
        days=config.clocks.stale_after_working_days,
    )
    return Nudge(kind=kind, key=key, due_at=due_at, reply=Reply(key=f"nudge:{key}", body=body))


def _since(kind: str, state: IncidentState) -> datetime | None:
    """The moment the nudge counts from, as its comment names it."""
    if kind == "update_overdue":
        return state.last_update_at or state.declared_at
    if kind == "handoff_unanswered" and state.pending_handoff is not None:
        return state.pending_handoff.requested_at
    if kind == "stale":
        return _stale_since(state)
    if kind == "close":
        return state.confirmed_at or close_wait_start(state)
    return state.declared_at


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
    labels: tuple[str, ...] | None = None
    if "stale" in kinds:
        new_state = replace(new_state, stale=True)
        labels = _with_label(current_labels, config.labels.stale)
    closing = "close" in kinds
    if closing:
        new_state = replace(new_state, status="closed", closed_at=now)
    issue = IssueChange(
        labels=labels,
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


def _with_label(current: Sequence[str], label: str) -> tuple[str, ...]:
    """GitHub compares label names without regard to case."""
    if any(name.casefold() == label.casefold() for name in current):
        return tuple(current)
    return (*current, label)


# --- the card's words ------------------------------------------------------------------------


def card_view_fields(
    state: IncidentState, config: Config, calendar: WorkingCalendar, now: datetime
) -> CardClocks:
    """The update due time and the closing words the card shows at `now`."""
    next_update = first_update_due(state, config) if state.status in OPEN_STATUSES else None
    resolved = state.status == "resolved"
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
