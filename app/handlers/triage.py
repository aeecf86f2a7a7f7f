"""Deciding, while GitHub waits for the acknowledgement, whether a delivery can matter at all.

Most deliveries an installation receives change nothing: comments without a command on issues
that are not incidents, labels Baton does not follow, Baton's own changes coming back. Storing
them would cost a durable write, a claim and a worker pass each, only for the handler to drop
them. Each route's `matters` predicate is the very check its handler makes first (the handler
calls it too), answered from the payload and from what the process already knows (the
repository's configuration if it is cached, the bot's login once learned); whatever needs more
than that is stored, so this never drops a delivery that a handler would act on.

The body is decoded with msgspec into a projection of the few fields the predicates read: the
whole document is still checked to be JSON, but only those fields become Python objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from app.config import Config
from app.handlers.events import Event, Known, issue_key
from app.handlers.pushes import pushed_config
from app.handlers.router import route_for, spread_for


class _Named(msgspec.Struct, omit_defaults=True):
    name: object = None


class _Login(msgspec.Struct, omit_defaults=True):
    login: object = None


class _Id(msgspec.Struct, omit_defaults=True):
    id: object = None


class _Repository(msgspec.Struct, omit_defaults=True):
    full_name: object = None
    default_branch: object = None


class _Commit(msgspec.Struct, omit_defaults=True):
    added: object = None
    modified: object = None
    removed: object = None


class _Issue(msgspec.Struct, omit_defaults=True):
    number: object = None
    body: object = None
    pull_request: object = None
    labels: list[_Named] | None = None


class _Comment(msgspec.Struct, omit_defaults=True):
    id: object = None
    body: object = None


class _Before(msgspec.Struct, omit_defaults=True):
    before: object = msgspec.field(default=None, name="from")


class _Changes(msgspec.Struct, omit_defaults=True):
    body: _Before | None = None


class _Projection(msgspec.Struct, omit_defaults=True):
    """The fields of a payload that the `matters` predicates and the issue key read."""

    action: object = None
    installation: _Id | None = None
    repository: _Repository | None = None
    sender: _Login | None = None
    issue: _Issue | None = None
    comment: _Comment | None = None
    label: _Named | None = None
    changes: _Changes | None = None
    # push
    ref: object = None
    forced: object = None
    commits: list[_Commit] | None = None


_DECODER = msgspec.json.Decoder(_Projection)
_TOO_DEEP = "the body's JSON is nested too deeply"


def glance(body: bytes) -> dict[str, Any]:
    """The payload's fields that triage reads, in the payload's own shape.

    Raises ValueError, with words for the sender, when the body is not a JSON object.
    """
    try:
        body.decode()  # JSON is UTF-8; msgspec does not look inside the strings it skips
        projected: dict[str, Any] = msgspec.to_builtins(_DECODER.decode(body))
        return projected
    except msgspec.ValidationError:
        pass  # valid JSON of an unexpected shape: read it whole, as the handlers would
    except (UnicodeDecodeError, msgspec.DecodeError):  # ValidationError is a DecodeError too
        raise ValueError("the body is not valid JSON") from None
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None
    try:
        payload = json.loads(body)
    except RecursionError:
        raise ValueError(_TOO_DEEP) from None
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    return payload


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
    # Whether a delivery of Baton's own edit shows a person's edit undone by it.
    undid_an_edit: Callable[[Event], bool] = lambda event: False
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
        return Verdict(store, event.action, issue_key(payload) if store else None)

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
            return route.own is not None and self.undid_an_edit(event)
        known = Known(config=self.cached_config(event.repo), key=self.state_key)
        return route.matters(event, known)
