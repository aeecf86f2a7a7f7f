"""The facts Baton needs from a webhook payload, read defensively.

A payload is checked, never trusted: every field is read with its expected type, and a field
that is missing or of the wrong type reads as absent. Real payloads differ from the published
models (older deliveries lack newer fields; installation times come as numbers or strings), so
Baton reads the few fields it uses instead of validating whole payloads against a model and
dropping a delivery that does not fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from app.config import Config
from app.incident import card
from app.incident.effects import IssueView
from app.incident.state import IncidentState, issue_state_key, parse_time


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if type(data) is not dict and not isinstance(data, Mapping):  # dict: the fast common case
            return None
        data = data.get(key)
    return data


def _text(data: Any, *path: str) -> str | None:
    value = _get(data, *path)
    return value if isinstance(value, str) else None


def _number(data: Any, *path: str) -> int | None:
    value = _get(data, *path)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(data: Any, *path: str) -> datetime | None:
    value = _text(data, *path)
    try:
        return parse_time(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Known:
    """What a handler's first check may use besides the payload: the repository's configuration
    (None where it is not at hand without a request) and the key of the cards' state."""

    config: Config | None
    key: bytes

    def card_state(self, repo: str, number: int, body: str) -> IncidentState | None:
        """The state of a card in `body`, if it is there and its MAC verifies."""
        if card.CARD_START not in body:
            return None  # no card: no key to derive
        return card.read_card(body, issue_state_key(self.key, repo, number)).state


@dataclass(frozen=True)
class Event:
    name: str  # X-GitHub-Event
    action: str | None
    payload: Mapping[str, Any]
    delivery_id: str = ""  # X-GitHub-Delivery

    @cached_property
    def installation_id(self) -> int | None:
        return _number(self.payload, "installation", "id")

    @cached_property
    def repo(self) -> str | None:
        return _text(self.payload, "repository", "full_name")

    @cached_property
    def sender(self) -> str | None:
        return _text(self.payload, "sender", "login")

    @cached_property
    def issue_number(self) -> int | None:
        return _number(self.payload, "issue", "number")

    @cached_property
    def issue_body(self) -> str:
        return _text(self.payload, "issue", "body") or ""

    @cached_property
    def is_pull_request(self) -> bool:
        return _get(self.payload, "issue", "pull_request") is not None

    @cached_property
    def label(self) -> str | None:
        return _text(self.payload, "label", "name")

    @cached_property
    def comment_id(self) -> int | None:
        return _number(self.payload, "comment", "id")

    @cached_property
    def comment_body(self) -> str:
        return _text(self.payload, "comment", "body") or ""

    @cached_property
    def comment_created_at(self) -> datetime | None:
        return _time(self.payload, "comment", "created_at")

    @cached_property
    def previous_body(self) -> str | None:
        """`changes.body.from` of an `issues.edited` delivery: the body before the edit."""
        return _text(self.payload, "changes", "body", "from")

    def issue_view(self) -> IssueView | None:
        """The issue as the payload describes it (possibly older than GitHub's current one)."""
        issue = _get(self.payload, "issue")
        number = self.issue_number
        if self.repo is None or number is None or not isinstance(issue, Mapping):
            return None
        labels = _get(issue, "labels")
        assignees = _get(issue, "assignees")
        return IssueView(
            repo=self.repo,
            number=number,
            title=_text(issue, "title") or "",
            body=self.issue_body,
            author=_text(issue, "user", "login") or "",
            labels=tuple(
                name for label in labels or () if (name := _text(label, "name")) is not None
            )
            if isinstance(labels, list)
            else (),
            assignees=tuple(
                login for a in assignees or () if (login := _text(a, "login")) is not None
            )
            if isinstance(assignees, list)
            else (),
            state=_text(issue, "state") or "open",
            html_url=_text(issue, "html_url") or "",
            node_id=_text(issue, "node_id") or "",
            updated_at=_time(issue, "updated_at"),
        )


def issue_key(payload: Mapping[str, Any]) -> str | None:
    """The serialisation key: deliveries about one issue are processed one at a time, in order."""
    repo = _text(payload, "repository", "full_name")
    number = _number(payload, "issue", "number")
    if repo is None or number is None:
        return None
    return f"{repo}#{number}"
