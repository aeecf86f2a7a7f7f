"""Commands that move the incident along: acknowledgement, severity, status, mitigation,
resolution, reopening, confirmation and closing.

Pure, like the rest of `app/incident/`: see `app/incident/rules.py`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from app.incident.calendar import calendar_for
from app.incident.clocks import close_due_at, report_blocks_close
from app.incident.effects import (
    NewIssue,
)
from app.incident.logins import same_login
from app.incident.permissions import need_open, need_responder, quiet
from app.incident.retrospective import retrospective_issue
from app.incident.state import SETTABLE_STATUSES, IncidentState, Status
from app.incident.text import when as _when
from app.incident.turns import (
    Refused,
    Step,
    Turn,
    already,
    cadence_words,
    close_after_working_hours,
    configured_severity,
    section,
    since,
)

if TYPE_CHECKING:
    from app.incident.commands import Command


def acknowledge(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    if state.acknowledged_at is not None:
        return already(
            state, turn, f"the incident was acknowledged at {_when(state.acknowledged_at)}"
        )
    after = replace(state, acknowledged_at=turn.now)
    took = since(state.declared_at, turn.now)
    return Step(after, section("acknowledged", after, turn, took=took))


def severity(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    chosen = configured_severity(command.word or "", turn.config)
    if chosen is None:
        raise Refused(
            "is not one of the configured severities: " + ", ".join(turn.config.severities)
        )
    return change_severity(state, chosen, turn)


def change_severity(state: IncidentState, severity: str, turn: Turn) -> Step:
    if state.severity == severity:
        return already(state, turn, f"the severity already is {severity}")
    after = replace(state, severity=severity)
    return Step(
        after,
        section(
            "severity",
            after,
            turn,
            previous=state.severity,
            update_every=cadence_words(severity, turn.config),
        ),
    )


def status(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    status = (command.word or "").casefold()
    if status not in SETTABLE_STATUSES:
        raise Refused("is not a status: say one of " + ", ".join(SETTABLE_STATUSES))
    return change_status(state, Status(status), command.text, turn)


def change_status(state: IncidentState, status: Status, text: str, turn: Turn) -> Step:
    """Set the status the way its own command does: mitigated and resolved record their time."""
    if status == Status.MITIGATED:
        return mitigate(state, text, turn)
    if status == Status.RESOLVED:
        return mark_resolved(state, text, turn)
    if state.status == status:
        return already(state, turn, f"the status already is {status}")
    need_open(state, f"set the status to {status}")
    after = replace(state, status=status)
    return Step(after, section("status", after, turn, previous=state.status))


def mitigated(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    return mitigate(state, command.text, turn)


def mitigate(state: IncidentState, text: str, turn: Turn) -> Step:
    if state.status == Status.MITIGATED:
        return already(
            state, turn, f"the incident has been mitigated since {_when(state.mitigated_at)}"
        )
    need_open(state, "mark it mitigated")
    after = replace(state, status=Status.MITIGATED, mitigated_at=turn.now)
    took = since(state.declared_at, turn.now)
    return Step(after, section("mitigated", after, turn, took=took, text=text.strip()))


def resolved(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    return mark_resolved(state, command.text, turn)


def mark_resolved(state: IncidentState, text: str, turn: Turn) -> Step:
    """Mark the incident resolved: post the resolution notice to the community, start the close
    clock, and open the retrospective issue when the configuration says so."""
    if state.status == Status.RESOLVED:
        return already(
            state, turn, f"the incident has been resolved since {_when(state.resolved_at)}"
        )
    need_open(state, "resolve it")
    after = replace(
        state,
        status=Status.RESOLVED,
        resolved_at=turn.now,
        close_wait_from=turn.now,
        confirmed_at=None,
    )
    opens_retro = turn.config.retrospective.open_on == "resolved" and state.retro is None
    new_issues = (retrospective(after, turn),) if opens_retro else ()
    calendar = calendar_for(turn.config.working_hours)
    notice = section(
        "resolved",
        after,
        turn,
        took=since(state.declared_at, turn.now),
        text=text.strip(),
        closes_at=close_due_at(after, turn.config, calendar),
        close_after=close_after_working_hours(turn.config),
        report_needed=report_blocks_close(after, turn.config),
        opens_retro=opens_retro,
    )
    return Step(after, notice, new_issues=new_issues)


def retrospective(state: IncidentState, turn: Turn) -> NewIssue:
    return retrospective_issue(
        state, turn.issue, turn.comments, config=turn.config, bot_login=turn.bot_login
    )


def reopen(state: IncidentState, command: Command, turn: Turn) -> Step:
    need_responder(turn)
    if state.status.is_open:
        raise Refused(f"cannot reopen an incident that is still open ({state.status})")
    after = reopened(state)
    return Step(
        after,
        section("reopened", after, turn, previous=state.status),
        issue_state="open",
        state_reason="reopened",
    )


def reopened(state: IncidentState) -> IncidentState:
    """Back to investigating: what resolution and closing recorded is undone."""
    return replace(
        state,
        status=Status.INVESTIGATING,
        resolved_at=None,
        closed_at=None,
        close_reason=None,
        confirmed_at=None,
        close_wait_from=None,
    )


def confirm(state: IncidentState, command: Command, turn: Turn) -> Step:
    is_reporter = turn.actor.is_reporter or same_login(turn.actor.login, state.reporter)
    if not (is_reporter or turn.actor.is_responder):
        raise Refused("is for the reporter of the incident or a responder")
    if state.status != Status.RESOLVED:
        raise Refused(f"confirms a fix, but the incident is {state.status}, not resolved")
    if state.confirmed_at is not None:
        return already(state, turn, f"the fix was confirmed at {_when(state.confirmed_at)}")
    after = replace(state, confirmed_at=turn.now)
    if report_blocks_close(after, turn.config):
        return Step(after, section("confirmed", after, turn, closes=False))
    # Confirmed and nothing else to wait for: the incident closes now, not at the next sweep.
    after = replace(after, status=Status.CLOSED, closed_at=turn.now)
    return Step(
        after,
        section("confirmed", after, turn, closes=True),
        issue_state="closed",
        state_reason="completed",
    )


def close(state: IncidentState, command: Command, turn: Turn) -> Step:
    if state.ic is None:
        raise Refused(
            "is for the Incident Commander, and there is none: take the role with `/ic me` first"
        )
    if not same_login(turn.actor.login, state.ic):
        raise Refused(f"is for the Incident Commander, {quiet(state.ic)}")
    if state.status == Status.CLOSED:
        return already(state, turn, "the incident is already closed")
    reason = command.text.strip() or None
    after = replace(state, status=Status.CLOSED, closed_at=turn.now, close_reason=reason)
    return Step(
        after,
        section("closed", after, turn, reason=reason),
        issue_state="closed",
        state_reason="completed",
    )
