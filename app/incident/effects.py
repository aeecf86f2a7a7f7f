"""What the core asks the outside world to do.

The core answers "what happens?" with a `Decision`: the new state and the effects. The executor
turns a decision into the fewest GitHub requests: one PATCH of the issue carries the card, the
labels, the assignees and the open/closed state together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.incident.state import IncidentState


@dataclass(frozen=True)
class Actor:
    """Who caused the event, with the facts the rules need about them."""

    login: str
    is_responder: bool = False
    is_reporter: bool = False
    is_bot: bool = False
    # Responder teams GitHub would not show the membership of (a workflow's token cannot).
    unseen_teams: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserFacts:
    """What GitHub says about a user a command names (looked up before deciding)."""

    exists: bool = True
    assignable: bool = True
    is_responder: bool = False


@dataclass(frozen=True)
class IssueView:
    """The incident issue as Baton knows it when deciding (read, remembered or from a payload)."""

    repo: str  # "owner/name"
    number: int
    title: str
    body: str
    author: str
    labels: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    state: str = "open"  # "open" or "closed"
    html_url: str = ""
    node_id: str = ""  # GitHub's global id, which the project board needs
    updated_at: datetime | None = None  # when GitHub last changed the issue, to whole seconds


@dataclass(frozen=True)
class Reply:
    """A comment Baton posts. `key` is written into it as a hidden marker, so a retried post
    can tell that the comment already exists."""

    key: str
    body: str


@dataclass(frozen=True)
class Reaction:
    comment_id: int
    content: str  # "eyes" when taken, "confused" when refused


@dataclass(frozen=True)
class NewIssue:
    """An issue Baton opens (retrospective, follow-up action), found again by its `key`."""

    key: str
    kind: str  # "retrospective" or "action"
    title: str
    body: str
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssueChange:
    """Changes to the incident issue itself; None means "leave as it is"."""

    title: str | None = None
    labels: tuple[str, ...] | None = None  # the full set afterwards
    assignees: tuple[str, ...] | None = None  # the full set afterwards
    state: str | None = None  # "open" or "closed"
    state_reason: str | None = None  # "completed", "not_planned", "reopened"


@dataclass(frozen=True)
class Outcome:
    """What a decision made of the commands it answered, for Baton's log (never on GitHub)."""

    applied: tuple[str, ...] = ()  # each command in a few words: "/severity sev1", "/ic me"
    refused: tuple[str, ...] = ()  # why, in the sentences of the refusal reply


@dataclass(frozen=True)
class Decision:
    """The core's answer: the new state and everything to do about it."""

    state: IncidentState
    issue: IssueChange = field(default_factory=IssueChange)
    replies: tuple[Reply, ...] = ()
    reactions: tuple[Reaction, ...] = ()
    new_issues: tuple[NewIssue, ...] = ()
    refused: bool = False
    outcome: Outcome = field(default_factory=Outcome)
    # What the chat channel is told beyond the state (app/incident/notices.py): who made the
    # decision, whether it declared the incident, and the stakeholder update it posts.
    by: str | None = None
    declared: bool = False
    update: str | None = None
