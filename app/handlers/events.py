"""The facts Baton needs from a webhook payload, read defensively, in one place.

A payload is checked, never trusted: every field is read with its expected type, and a field
that is missing or of the wrong type reads as absent. Real payloads differ from the published
models (older deliveries lack newer fields; installation times come as numbers or strings), so
Baton reads the few fields it uses instead of validating whole payloads against a model and
dropping a delivery that does not fit.

Each field is declared once, on `Event`, with its path. The same declarations make the projection
`glance` decodes while a delivery is acknowledged (`app/handlers/triage.py`): msgspec still checks
the whole body is JSON, but only the fields an `Event` reads become Python objects.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import GenericAlias
from typing import Any, Generic, TypeVar, overload

import msgspec

from app.config import Config
from app.incident import card
from app.incident.effects import IssueView
from app.incident.state import IncidentState, issue_state_key, parse_time

T = TypeVar("T")
# Every path an `Event` field reads; `[]` stands for each item of a list.
_PATHS: list[tuple[str, ...]] = []


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if type(data) is not dict and not isinstance(data, Mapping):  # dict: the fast common case
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _text_or_empty(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _present(value: Any) -> bool:
    return value is not None


def _true(value: Any) -> bool:
    return value is True


def _list(value: Any) -> list[Any] | None:
    return value if isinstance(value, list) else None


def _texts_at(key: str) -> Callable[[Any], tuple[str, ...]]:
    """The texts at `key` of a list's items (`[{"name": "bug"}]` -> `("bug",)`)."""

    def read(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            return ()
        return tuple(text for item in value if (text := _text(_get(item, key))) is not None)

    return read


class _Field(Generic[T]):
    """One fact of the payload, read at `path` by `read` (which types it, absent when it does not
    fit) once per event. `items`: the keys read in each item of a list."""

    def __init__(self, read: Callable[[Any], T], *path: str, items: tuple[str, ...] = ()) -> None:
        self.read = read
        self.path = path
        self.name = ""
        _PATHS.extend([(*path, "[]", key) for key in items] if items else [path])

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, event: None, owner: type) -> _Field[T]: ...

    @overload
    def __get__(self, event: Event, owner: type) -> T: ...

    def __get__(self, event: Event | None, owner: type) -> _Field[T] | T:
        if event is None:
            return self
        value = self.read(_get(event.payload, *self.path))
        event.__dict__[self.name] = value  # read once: the instance's value hides the field now
        return value


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

    installation_id = _Field(_number, "installation", "id")
    repo = _Field(_text, "repository", "full_name")
    default_branch = _Field(_text, "repository", "default_branch")
    sender = _Field(_text, "sender", "login")
    issue_number = _Field(_number, "issue", "number")
    issue_title = _Field(_text_or_empty, "issue", "title")
    issue_body = _Field(_text_or_empty, "issue", "body")
    issue_author = _Field(_text_or_empty, "issue", "user", "login")
    issue_labels = _Field(_texts_at("name"), "issue", "labels", items=("name",))
    issue_assignees = _Field(_texts_at("login"), "issue", "assignees", items=("login",))
    issue_state = _Field(_text, "issue", "state")
    issue_html_url = _Field(_text_or_empty, "issue", "html_url")
    issue_node_id = _Field(_text_or_empty, "issue", "node_id")
    issue_updated_at = _Field(_time, "issue", "updated_at")
    is_pull_request = _Field(_present, "issue", "pull_request")
    label = _Field(_text, "label", "name")
    comment_id = _Field(_number, "comment", "id")
    comment_body = _Field(_text_or_empty, "comment", "body")
    comment_created_at = _Field(_time, "comment", "created_at")
    # `changes.body.from` of an `issues.edited` delivery: the body before the edit.
    previous_body = _Field(_text, "changes", "body", "from")
    # push
    ref = _Field(_text, "ref")
    forced = _Field(_true, "forced")
    commits = _Field(_list, "commits", items=("added", "modified", "removed"))

    @property
    def issue_key(self) -> str | None:
        """The serialisation key: deliveries about one issue are processed one at a time, in
        order."""
        if self.repo is None or self.issue_number is None:
            return None
        return f"{self.repo}#{self.issue_number}"

    def issue_view(self) -> IssueView | None:
        """The issue as the payload describes it (possibly older than GitHub's current one)."""
        if self.repo is None or self.issue_number is None:
            return None
        return IssueView(
            repo=self.repo,
            number=self.issue_number,
            title=self.issue_title,
            body=self.issue_body,
            author=self.issue_author,
            labels=self.issue_labels,
            assignees=self.issue_assignees,
            state=self.issue_state or "open",
            html_url=self.issue_html_url,
            node_id=self.issue_node_id,
            updated_at=self.issue_updated_at,
        )


# --- the projection ----------------------------------------------------------------------------

_Tree = dict[str, "_Tree | None"]


def _tree(paths: list[tuple[str, ...]]) -> _Tree:
    root: _Tree = {}
    for path in paths:
        node = root
        for key in path[:-1]:
            child = node.setdefault(key, {})
            assert child is not None, f"{path}: a field is read both whole and in parts"
            node = child
        assert path[-1] not in node, f"{path}: a field is read both whole and in parts"
        node[path[-1]] = None
    return root


def _struct(name: str, tree: _Tree) -> type[msgspec.Struct]:
    """A msgspec type holding only the tree's fields, each of any type (`object`) at its leaves."""
    fields: list[tuple[str, Any, None]] = []
    rename: dict[str, str] = {}
    for key, below in tree.items():
        attribute = key if key.isidentifier() and not keyword.iskeyword(key) else f"{key}_"
        if attribute != key:
            rename[attribute] = key
        kind: Any = object
        if below is not None and set(below) == {"[]"}:
            each = below["[]"]
            assert each is not None
            kind = GenericAlias(list, (_struct(f"{name}_{key}", each),)) | None
        elif below is not None:
            kind = _struct(f"{name}_{key}", below) | None
        fields.append((attribute, kind, None))
    return msgspec.defstruct(name, fields, omit_defaults=True, rename=rename or None)


# `action` too, which whoever builds an `Event` reads from the payload and hands it.
_DECODER = msgspec.json.Decoder(_struct("Payload", _tree([("action",), *_PATHS])))
_TOO_DEEP = "the body's JSON is nested too deeply"


def glance(body: bytes) -> dict[str, Any]:
    """The payload's fields that an `Event` reads, in the payload's own shape.

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
