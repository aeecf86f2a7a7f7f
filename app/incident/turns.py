"""What deciding one command works with: the turn (who, when, on which issue), the step it
gives, the refusal, and the small helpers every rule shares.

Pure, like the rest of `app/incident/`: see `app/incident/rules.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.incident.effects import (
    Actor,
    IssueChange,
    IssueView,
    NewIssue,
    UserFacts,
)
from app.incident.labels import labels_for, severity_from_label
from app.incident.retrospective import IncidentComment
from app.incident.state import IncidentState
from app.incident.times import duration
from app.incident.words import render

if TYPE_CHECKING:
    from app.incident.commands import Command
    from app.incident.config import Config


# Free text kept in the card's hidden state (handoff notes, impact, areas) is capped, so the
# issue body stays within GitHub's 65,536 characters; the full text stays in its comment.
LONGEST_KEPT_TEXT = 2000


class Refused(Exception):
    """A command may not run: the reason is shown to the commenter, next to the usage."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Step:
    """One command's effect: the state afterwards and the words that say so."""

    state: IncidentState
    section: str
    issue_state: str | None = None  # "open" or "closed" when the command opens or closes
    state_reason: str | None = None
    new_issues: tuple[NewIssue, ...] = ()
    words_only: bool = False  # an answer that changes nothing (`/help`, "already so")
    update: str | None = None  # the stakeholder update posted (`/update`)


@dataclass(frozen=True)
class Turn:
    """Everything about the comment being decided, apart from the state."""

    actor: Actor
    users: Mapping[str, UserFacts]
    issue: IssueView
    config: Config
    now: datetime
    comment_id: int
    # The incident's comments, read only when a command opens the retrospective (see
    # `needs_comments`), and the App's bot login that wrote some of them.
    comments: Sequence[IncidentComment] = ()
    bot_login: str = ""


Rule = Callable[[IncidentState, "Command", Turn], Step]


def section(template: str, state: IncidentState, turn: Turn, **context: Any) -> str:
    return render(
        f"reply/{template}.md.j2", state=state, actor=turn.actor, issue=turn.issue, **context
    )


def already(state: IncidentState, turn: Turn, what: str) -> Step:
    """A command that asks for what is already so: a short answer, nothing changes."""
    return Step(state, section("already", state, turn, what=what), words_only=True)


def kept(text: str, limit: int = LONGEST_KEPT_TEXT) -> str:
    """Free text as the state keeps it: stripped, and cut with an ellipsis past `limit`."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def since(start: datetime | None, end: datetime | None) -> str | None:
    """A duration as people say it: `1 h 5 min`; None when a time is missing."""
    if start is None or end is None:
        return None
    return duration(end - start)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


def configured_severity(word: str, config: Config) -> str | None:
    return severity_from_label(word, config)


def cadence(severity: str, config: Config) -> timedelta | None:
    return config.clocks.update_every.get(severity)


def cadence_words(severity: str, config: Config) -> str | None:
    every = cadence(severity, config)
    return duration(every) if every else None


def close_after_working_hours(config: Config) -> str:
    """`48`, or `7.5` for a fractional setting."""
    return f"{config.clocks.close_after_working_hours:g}"


def issue_change(
    before: IncidentState, after: IncidentState, steps: Sequence[Step], turn: Turn
) -> IssueChange:
    labels = labels_for(after, turn.issue.labels, turn.config)
    opened_or_closed = [step for step in steps if step.issue_state is not None]
    last = opened_or_closed[-1] if opened_or_closed else None
    issue_state = last.issue_state if last else None
    if issue_state == turn.issue.state:
        issue_state = None
    return IssueChange(
        labels=None if labels == turn.issue.labels else labels,
        assignees=_assignees(before, after),
        state=issue_state,
        state_reason=last.state_reason if last and issue_state else None,
    )


def _assignees(before: IncidentState, after: IncidentState) -> tuple[str, ...] | None:
    if before.ic == after.ic:
        return None
    return (after.ic,) if after.ic else ()
