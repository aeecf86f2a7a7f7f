"""Which handler answers which delivery: one line per (event, action)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.github.executor import Plan
from app.handlers import commands, declare, edits, labels, lifecycle, sweep
from app.handlers.events import Event
from app.handlers.work import Work

Handler = Callable[[Work, Event], Awaitable[Plan | None]]

ROUTES: dict[tuple[str, str], Handler] = {
    ("issues", "opened"): declare.on_issue_opened,
    ("issues", "labeled"): labels.on_labeled,
    ("issues", "unlabeled"): labels.on_unlabeled,
    ("issues", "edited"): edits.on_issue_edited,
    ("issues", "closed"): lifecycle.on_issue_closed,
    ("issues", "reopened"): lifecycle.on_issue_reopened,
    ("issue_comment", "created"): commands.on_comment_created,
    ("baton.sweep", "due"): sweep.on_nudges_due,
}


def handler_for(event: str, action: str | None) -> Handler | None:
    return ROUTES.get((event, action or ""))


def wants(event: str, action: str | None) -> bool:
    """Deliveries worth storing; the rest are acknowledged and dropped at once."""
    return handler_for(event, action) is not None


def handled_events() -> set[str]:
    return {event for event, _ in ROUTES if not event.startswith("baton.")}  # ours: not GitHub's
