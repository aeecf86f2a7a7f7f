"""What the public status page shows (docs/status-page.md), from the incidents alone.

Only incidents with both the incident label and the public label are shown, and of each only
what is written for the public: its title, status, severity, when it was declared, mitigated
and resolved, and the stakeholder updates (`/update`) Baton applied. Never a note, a handoff's
notes, a responder's name, nor any other comment. Pure: the I/O is in `app/entry/status_page.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.incident.commands import parse_comment
from app.incident.effects import IssueView
from app.incident.retrospective import IncidentComment
from app.incident.state import IncidentState, Status

RECENT = timedelta(days=90)  # how long an incident stays on the page after it ended
# The title the incident form starts with (issue_templates/incident-report.yml): the public
# reads the rest.
_FORM_PREFIX = re.compile(r"^\s*\[incident\]\s*:?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class PublicUpdate:
    id: int  # the comment's id: the update's anchor on the page and in the feed
    at: datetime
    text: str


@dataclass(frozen=True)
class PublicIncident:
    number: int
    title: str
    status: Status
    severity: str
    declared_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    updates: tuple[PublicUpdate, ...]  # newest first

    @property
    def current(self) -> bool:
        return self.status.is_open

    @property
    def updated_at(self) -> datetime | None:
        """The latest moment the page tells about this incident."""
        moments = [self.declared_at, self.mitigated_at, self.resolved_at]
        moments += [update.at for update in self.updates]
        return max((m for m in moments if m is not None), default=None)


@dataclass(frozen=True)
class StatusPage:
    repo: str
    generated_at: datetime
    current: tuple[PublicIncident, ...]  # most severe first, then the latest declared
    recent: tuple[PublicIncident, ...]  # ended within RECENT, the latest ended first

    @property
    def incidents(self) -> tuple[PublicIncident, ...]:
        return self.current + self.recent

    @property
    def updated_at(self) -> datetime:
        """The latest moment the page tells about, else when it was made."""
        moments = [i.updated_at for i in self.incidents if i.updated_at is not None]
        return max(moments, default=self.generated_at)


def is_public(issue: IssueView, incident_label: str, public_label: str) -> bool:
    """The issue carries both the incident label and the public label (any case, as GitHub)."""
    labels = {label.casefold() for label in issue.labels}
    return incident_label.casefold() in labels and public_label.casefold() in labels


def is_shown(state: IncidentState, now: datetime) -> bool:
    """Still open, or ended within the last RECENT."""
    if state.status.is_open:
        return True
    ended = _ended_at(state)
    return ended is not None and now - ended <= RECENT


def public_incident(
    issue: IssueView, state: IncidentState, comments: Sequence[IncidentComment]
) -> PublicIncident:
    return PublicIncident(
        number=issue.number,
        title=public_title(issue.title),
        status=state.status,
        severity=state.severity,
        declared_at=state.declared_at,
        mitigated_at=state.mitigated_at,
        resolved_at=state.resolved_at,
        updates=public_updates(state, comments),
    )


def public_title(title: str) -> str:
    """The issue's title without the incident form's `[Incident]:` prefix."""
    return _FORM_PREFIX.sub("", title, count=1).strip() or title.strip()


def public_updates(
    state: IncidentState, comments: Iterable[IncidentComment]
) -> tuple[PublicUpdate, ...]:
    """The `/update` texts of the comments Baton applied (a refused or unanswered comment, or a
    comment with no command, is never shown), newest first."""
    updates = [
        PublicUpdate(id=comment.id, at=comment.created_at, text=command.text.strip())
        for comment in comments
        if state.has_applied(comment.id)
        for command in parse_comment(comment.body).commands
        if command.name == "update" and command.text.strip()
    ]
    return tuple(sorted(updates, key=lambda update: update.at, reverse=True))


def status_page(
    repo: str,
    incidents: Iterable[PublicIncident],
    *,
    severities: Sequence[str],
    now: datetime,
) -> StatusPage:
    """The page: current incidents first (most severe, then the latest), then those ended in
    the last RECENT (the latest first)."""
    listed = list(incidents)
    current = [i for i in listed if i.current]
    recent = [i for i in listed if not i.current]
    rank = {name: position for position, name in enumerate(severities)}
    current.sort(key=lambda i: _timestamp(i.declared_at), reverse=True)
    current.sort(key=lambda i: rank.get(i.severity, len(rank)))
    recent.sort(key=lambda i: _timestamp(i.resolved_at or i.updated_at), reverse=True)
    return StatusPage(repo, now, tuple(current), tuple(recent))


def _ended_at(state: IncidentState) -> datetime | None:
    return state.resolved_at or state.closed_at or state.declared_at


def _timestamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment is not None else 0.0


__all__ = [
    "RECENT",
    "PublicIncident",
    "PublicUpdate",
    "StatusPage",
    "is_public",
    "is_shown",
    "public_incident",
    "public_title",
    "public_updates",
    "status_page",
]
