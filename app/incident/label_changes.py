"""Severity and status labels changed by hand: they work like the commands.

Pure, like the rest of `app/incident/`: see `app/incident/rules.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from app.incident.effects import (
    Actor,
    Decision,
    IssueView,
    Reply,
)
from app.incident.labels import severity_from_label, status_from_label
from app.incident.state import IncidentState, Status, format_time
from app.incident.statuses import change_severity, change_status
from app.incident.turns import Refused, Step, Turn, issue_change, section

if TYPE_CHECKING:
    from app.incident.config import Config


def apply_label_change(
    state: IncidentState,
    added: tuple[str, ...],
    removed: tuple[str, ...],
    actor: Actor,
    issue: IssueView,
    config: Config,
    now: datetime,
) -> Decision:
    """A person changed labels by hand: a severity or status label added works like the command;
    removing the current one puts it back (the incident always has one) and says so.

    `issue.labels` are the labels after the change. The reply key is built from the issue, the
    time and the change, so the caller should pass the event's own time as `now`."""
    turn = Turn(actor, {}, issue, config, now, comment_id=0)
    steps: list[Step] = []
    current = state
    for step in _hand_changes(current, added, removed, turn):
        steps.append(step)
        current = step.state
    if not steps:
        return Decision(state=state)
    change = ",".join([*(f"+{n}" for n in added), *(f"-{n}" for n in removed)])
    key = f"labels:{issue.number}:{format_time(now)}:{change}"
    reply = Reply(key=key, body="\n".join(step.section for step in steps))
    after = current if current == state else replace(current, last_activity_at=now)
    change_made = issue_change(state, after, steps, turn)
    return Decision(state=after, issue=change_made, replies=(reply,), by=actor.login)


def _hand_changes(
    state: IncidentState, added: tuple[str, ...], removed: tuple[str, ...], turn: Turn
) -> list[Step]:
    steps: list[Step] = []
    severity = _last(severity_from_label(name, turn.config) for name in added)
    status = _last(status_from_label(name) for name in added)
    if severity is not None:
        steps.append(_by_hand(change_severity, state, severity, turn))
        state = steps[-1].state
    if status is not None:
        steps.append(_by_hand(_status_by_hand, state, status, turn))
        state = steps[-1].state
    restored = [
        kind
        for kind, gone in (
            ("severity", severity is None and _removed_current_severity(state, removed, turn)),
            ("status", status is None and _removed_current_status(state, removed, turn)),
        )
        if gone
    ]
    if restored:
        steps.append(Step(state, section("label_restored", state, turn, kinds=restored)))
    return steps


def _status_by_hand(state: IncidentState, status: Status, turn: Turn) -> Step:
    if status == Status.CLOSED:
        raise Refused("the incident is closed with `/close [reason]` or by the close clock")
    return change_status(state, status, "", turn)


Value = TypeVar("Value", bound=str)


def _by_hand(
    change: Callable[[IncidentState, Value, Turn], Step],
    state: IncidentState,
    value: Value,
    turn: Turn,
) -> Step:
    """A label change runs like its command; a refused one is undone and explained."""
    try:
        return change(state, value, turn)
    except Refused as refusal:
        return Step(state, section("label_refused", state, turn, reason=refusal.reason))


def _removed_current_severity(state: IncidentState, removed: tuple[str, ...], turn: Turn) -> bool:
    gone = any(severity_from_label(name, turn.config) == state.severity for name in removed)
    still = any(severity_from_label(name, turn.config) for name in turn.issue.labels)
    return gone and not still


def _removed_current_status(state: IncidentState, removed: tuple[str, ...], turn: Turn) -> bool:
    gone = any(status_from_label(name) == state.status for name in removed)
    still = any(status_from_label(name) for name in turn.issue.labels)
    return gone and not still


def _last(values: Iterable[Value | None]) -> Value | None:
    found = [value for value in values if value is not None]
    return found[-1] if found else None
