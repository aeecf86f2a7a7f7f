"""What the team's chat channel is told: one notice for each moment a channel needs
(docs/notifications.md).

Pure, like the rest of `app/incident/`: the moments are read from a decision and the state
before it (status, severity, Incident Commander, escalation nudges, `/update`), and each
notice's words come from `app/templates/chat/`. A notice is plain data: journaled with the plan
that carries it, sent once the plan's GitHub writes are done.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from app.incident.effects import Decision, IssueView
from app.incident.logins import same_login
from app.incident.state import IncidentState, Status
from app.incident.words import render

if TYPE_CHECKING:
    from app.incident.config import Config


class Moment(StrEnum):
    """A moment the channel is told about; the values are what `notify.slack.events` lists."""

    DECLARED = "declared"
    COMMANDER = "commander"  # the Incident Commander changed, a handoff accepted too
    SEVERITY = "severity"
    ESCALATION = "escalation"  # nobody took the IC role, or unresolved after the escalation time
    UPDATE = "update"  # a stakeholder update (`/update`)
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"


MOMENTS = tuple(Moment)
# The escalation nudges (app/incident/clocks.py) whose key, once recorded, is an escalation.
ESCALATION_NUDGES = ("no_ic", "escalate")
_STATUS_MOMENTS = {
    Status.MITIGATED: Moment.MITIGATED,
    Status.RESOLVED: Moment.RESOLVED,
    Status.CLOSED: Moment.CLOSED,
}


@dataclass(frozen=True)
class Notice:
    """One chat message. `key` names it once and for all (the incident, the card's revision the
    moment was decided with, the moment), so however often it is queued it is sent once.

    `text` and `context` are Slack `mrkdwn` (the message and the line of facts under it);
    `fallback` is the plain text shown in notifications."""

    key: str
    moment: str
    repo: str
    number: int
    text: str
    context: str
    fallback: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notice:
        return cls(**data)


@dataclass(frozen=True)
class _Found:
    moment: Moment
    detail: str = ""  # which escalation: "no_ic" or "escalate"


def notices_for(
    decision: Decision,
    previous: IncidentState | None,
    issue: IssueView,
    config: Config,
    *,
    revision: int,
) -> tuple[Notice, ...]:
    """The notices of a decision taken on `previous` (None: nothing was known of it), for the
    moments `notify.slack.events` chooses. `revision` is the revision of the card the decision
    writes."""
    chosen = config.notify.slack_events
    return tuple(
        _notice(found, decision, previous, issue, config, revision)
        for found in _moments(decision, previous)
        if found.moment in chosen
    )


def _moments(decision: Decision, before: IncidentState | None) -> list[_Found]:
    after = decision.state
    if decision.refused:
        return []
    if decision.declared:
        return [_Found(Moment.DECLARED)]
    if before is None:  # a card put back or rewritten: nothing happened to the incident
        return []
    found: list[_Found] = []
    if after.ic is not None and not same_login(after.ic, before.ic):
        found.append(_Found(Moment.COMMANDER))
    if after.severity != before.severity:
        found.append(_Found(Moment.SEVERITY))
    found += [
        _Found(Moment.ESCALATION, kind)
        for kind in ESCALATION_NUDGES
        if kind in after.nudges and kind not in before.nudges
    ]
    if decision.update:
        found.append(_Found(Moment.UPDATE))
    status_moment = _STATUS_MOMENTS.get(after.status)
    if after.status != before.status and status_moment is not None:
        found.append(_Found(status_moment))
    return found


def _notice(
    found: _Found,
    decision: Decision,
    before: IncidentState | None,
    issue: IssueView,
    config: Config,
    revision: int,
) -> Notice:
    after = decision.state
    words: dict[str, Any] = {
        "moment": found.moment,
        "issue": issue,
        "title": decision.issue.title or issue.title,
        "state": after,
        "before": before,
        "by": decision.by,
        "update": decision.update or "",
        "detail": found.detail,
        "accepted": _accepted_handoff(before, after),
        "team": config.escalation.team,
    }
    text = render(f"chat/{found.moment}.txt.j2", **words)
    fallback = render("chat/fallback.txt.j2", **words)
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    moment = f"{found.moment}.{found.detail}" if found.detail else str(found.moment)
    return Notice(
        key=f"{issue.repo}#{issue.number}@{revision}:{moment}:{digest}",
        moment=found.moment,
        repo=issue.repo,
        number=issue.number,
        text=text.strip(),
        context=render("chat/context.txt.j2", **words).strip(),
        fallback=fallback.strip(),
    )


def _accepted_handoff(before: IncidentState | None, after: IncidentState) -> bool:
    pending = before.pending_handoff if before is not None else None
    return pending is not None and same_login(pending.to, after.ic)
