"""Which handler answers which delivery: one line per (event, action).

Each route also names the handler's first check (`matters`), which triage runs before a
delivery is stored (`_always`: every delivery of that kind is stored), and whether deliveries of
its kind queued behind each other in one issue are handled as one run (`runs`): decided one
after the other on one copy of the incident, and written back together.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from app.handlers import commands, declare, edits, installed, labels, lifecycle, sweep
from app.handlers.events import Event, Known
from app.handlers.work import Work
from app.incident.plan import Plan
from app.server.store import NewDelivery

Handler = Callable[[Work, Event], Awaitable[Plan | None]]
Matters = Callable[[Event, Known], bool]
Spread = Callable[[Event, datetime], list[NewDelivery]]


def _always(event: Event, known: Known) -> bool:
    return True


@dataclass(frozen=True)
class Route:
    handler: Handler
    matters: Matters = _always
    from_github: bool = True  # False: Baton's own kind of delivery, never accepted over HTTP
    runs: bool = False
    # The handler of Baton's own deliveries of this kind, when one of them can matter.
    own: Handler | None = None


ROUTES: dict[tuple[str, str], Route] = {
    ("issues", "opened"): Route(declare.on_issue_opened, declare.opened_matters),
    ("issues", "labeled"): Route(labels.on_labeled, labels.labeled_matters),
    ("issues", "unlabeled"): Route(labels.on_unlabeled, labels.unlabeled_matters),
    ("issues", "edited"): Route(edits.on_issue_edited, edits.edit_matters, own=edits.on_own_edit),
    ("issues", "closed"): Route(lifecycle.on_issue_closed, lifecycle.open_or_closed_matters),
    ("issues", "reopened"): Route(lifecycle.on_issue_reopened, lifecycle.open_or_closed_matters),
    ("issue_comment", "created"): Route(
        commands.on_comment_created, commands.comment_matters, runs=True
    ),
    ("baton.sweep", "due"): Route(sweep.on_nudges_due, from_github=False),
    (installed.LABELS_EVENT, installed.LABELS_ACTION): Route(
        installed.on_labels_due, from_github=False
    ),
}

# Deliveries about an installation rather than one repository, and what each becomes: one
# delivery per repository it names, stored and handled in its place.
SPREAD: dict[tuple[str, str], Spread] = {
    ("installation", "created"): installed.label_deliveries,
    ("installation_repositories", "added"): installed.label_deliveries,
}


def route_for(event: str, action: str | None) -> Route | None:
    return ROUTES.get((event, action or ""))


def spread_for(event: str, action: str | None) -> Spread | None:
    return SPREAD.get((event, action or ""))


def joins_run(event: str, action: str | None) -> bool:
    """Whether a delivery of this kind may be handled in one run with those around it."""
    route = route_for(event, action)
    return route is not None and route.runs


# Events handled whole while they are acknowledged (see `app/handlers/triage.py`), never stored.
ACKNOWLEDGED: frozenset[str] = frozenset({"push"})


def handled_events() -> set[str]:
    return {event for (event, _), route in ROUTES.items() if route.from_github} | ACKNOWLEDGED
