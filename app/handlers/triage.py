"""Deciding, while GitHub waits for the acknowledgement, whether a delivery can matter at all.

Most deliveries an installation receives change nothing: comments without a command on issues
that are not incidents, labels Baton does not follow, Baton's own changes coming back. Storing
them would cost a durable write, a claim and a worker pass each, only for the handler to drop
them. Each route's `matters` predicate is the very check its handler makes first (the handler
calls it too), answered from the payload and from what the process already knows (the
repository's configuration if it is cached, the bot's login once learned); whatever needs more
than that is stored, so this never drops a delivery that a handler would act on.

The body is decoded with msgspec into a projection of the fields an `Event` reads (see
`app/handlers/events.py`): the whole document is still checked to be JSON, but only those fields
become Python objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.config import Config
from app.handlers.edits import may_have_undone_an_edit
from app.handlers.events import Event, Known, glance
from app.handlers.pushes import pushed_config
from app.handlers.router import route_for, spread_for


@dataclass(frozen=True, slots=True)
class Verdict:
    store: bool
    action: str | None
    issue_key: str | None


@dataclass(frozen=True)
class Triage:
    """`(X-GitHub-Event, body) -> Verdict`, for the webhook endpoint."""

    state_key: bytes
    cached_config: Callable[[str], Config | None] = lambda repo: None
    known_bot_login: Callable[[], str | None] = lambda: None
    # Told of a repository whose configuration file a push may have changed.
    config_pushed: Callable[[str], None] = lambda repo: None

    def __call__(self, event_name: str, body: bytes) -> Verdict:
        payload = glance(body)
        action = payload.get("action")
        event = Event(event_name, action if isinstance(action, str) else None, payload)
        if event.name == "push":  # handled here and now: see app/handlers/pushes.py
            if (repo := pushed_config(event)) is not None:
                self.config_pushed(repo)
            return Verdict(False, None, None)
        store = self.matters(event)
        return Verdict(store, event.action, event.issue_key if store else None)

    def matters(self, event: Event) -> bool:
        if spread_for(event.name, event.action) is not None:
            return event.installation_id is not None
        route = route_for(event.name, event.action)
        if route is None or not route.from_github:
            return False
        if event.installation_id is None or event.repo is None:
            return False
        bot_login = self.known_bot_login()
        if bot_login is not None and event.sender == bot_login:
            # Baton's own change, come back as a delivery
            return route.own is not None and may_have_undone_an_edit(event)
        known = Known(config=self.cached_config(event.repo), key=self.state_key)
        return route.matters(event, known)
