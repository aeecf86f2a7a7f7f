"""Declaring an incident: the new state, its labels and the first response.

Pure, like the rest of `app/incident/`: see `app/incident/rules.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.incident import commands as command_table
from app.incident.effects import (
    Actor,
    Decision,
    IssueChange,
    IssueView,
    Reply,
)
from app.incident.labels import labels_for, severity_from_label
from app.incident.state import IncidentState, Status
from app.incident.turns import (
    cadence_words,
    close_after_working_hours,
    configured_severity,
    kept,
)
from app.incident.words import render

if TYPE_CHECKING:
    from app.incident.config import Config


# The commands shown in the first response, one line each; `/help` lists them all.
FIRST_RESPONSE_COMMANDS = (
    "ic",
    "handoff",
    "accept",
    "liaison",
    "sme",
    "severity",
    "update",
    "note",
    "mitigated",
    "resolved",
    "help",
)


def declare(
    issue: IssueView,
    actor: Actor,
    config: Config,
    now: datetime,
    *,
    severity: str | None = None,
    impact: str | None = None,
    started: str | None = None,
    existing: IncidentState | None = None,
) -> Decision:
    """Make the issue an incident: the new state, its labels and the first-response comment.

    `existing` is the state already on the issue, if any: declaring twice changes nothing.
    The severity is the one given, else a severity label already on the issue (an issue form
    may set one), else the configured default."""
    if existing is not None:
        return Decision(state=existing)
    state = IncidentState(
        status=Status.INVESTIGATING,
        severity=_declared_severity(issue, config, severity),
        reporter=issue.author,
        impact=kept(impact) if impact else None,
        started=kept(started, 200) if started else None,
        declared_at=now,
        last_activity_at=now,
    )
    body = render(
        "first_response.md.j2",
        state=state,
        issue=issue,
        actor=actor,
        escalation_team=config.escalation.team,
        commands=[spec for spec in command_table.COMMANDS if spec.name in FIRST_RESPONSE_COMMANDS],
        update_every=cadence_words(state.severity, config),
        close_after=close_after_working_hours(config),
    )
    return Decision(
        state=state,
        issue=IssueChange(labels=labels_for(state, issue.labels, config)),
        replies=(Reply(key=f"declare:{issue.number}", body=body),),
        by=actor.login,
        declared=True,
    )


def _declared_severity(issue: IssueView, config: Config, asked: str | None) -> str:
    if asked is not None and (chosen := configured_severity(asked, config)):
        return chosen
    on_issue = (severity_from_label(name, config) for name in issue.labels)
    return next((s for s in on_issue if s), config.default_severity)
