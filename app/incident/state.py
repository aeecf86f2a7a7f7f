"""The incident state: what the card's hidden line holds, its JSON form and its MAC.

The state is the single source of truth for an incident. It travels inside the issue body as
`<!-- baton:state {JSON} -->`; the JSON is versioned, uses UTC ISO-8601 times, never contains
`--` (so it cannot close the HTML comment) and carries an HMAC-SHA256 so a hand edit is detected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

STATE_VERSION = 1


class Status(StrEnum):
    """Where an incident stands. The values are the words the card's state and the status
    labels hold (a `Status` is a `str`, equal to its value)."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """Still being worked on: updates are due, roles change hands."""
        return self in OPEN_STATUSES


OPEN_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED)
SETTABLE_STATUSES = (*OPEN_STATUSES, Status.RESOLVED)  # what `/status` may set

# Command comment ids remembered so a redelivered comment is never applied twice. GitHub keeps
# redelivering for at most three days; a few hundred ids cover any incident's busiest stretch.
APPLIED_MEMORY = 300


class StateError(ValueError):
    """The hidden state could not be read: missing, malformed, or of an unknown version."""


class TamperedState(StateError):
    """The hidden state parses but its MAC does not match: someone edited it by hand."""


@dataclass(frozen=True)
class Sme:
    login: str
    area: str | None = None


@dataclass(frozen=True)
class Handoff:
    """A proposed change of role holder, pending until the target says yes."""

    role: str  # "ic" (the Incident Commander role; the only role handed off explicitly)
    from_login: str | None  # None while nobody holds the role
    to: str
    requested_at: datetime
    notes: str = ""
    comment_id: int | None = None


@dataclass(frozen=True)
class IncidentState:
    status: Status = Status.INVESTIGATING
    severity: str = "sev3"
    ic: str | None = None
    liaison: str | None = None
    smes: tuple[Sme, ...] = ()
    pending_handoff: Handoff | None = None
    declared_at: datetime | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    last_update_at: datetime | None = None
    retro: int | None = None
    actions: tuple[int, ...] = ()
    # Beyond the specified minimum:
    reporter: str | None = None
    impact: str | None = None  # from the incident form
    started: str | None = None  # when it started, as the reporter wrote it
    close_wait_from: datetime | None = None  # resolution notice or last community comment
    confirmed_at: datetime | None = None
    close_reason: str | None = None
    report_done: bool = False  # the retrospective issue is closed
    snoozed_until: datetime | None = None
    stale: bool = False
    last_activity_at: datetime | None = None
    nudges: tuple[
        str, ...
    ] = ()  # keys of reminders already posted, e.g. "update@2026-11-24T10:00Z"
    applied: tuple[int, ...] = ()  # command comment ids already applied (most recent last)
    # When the newest applied command comment was written: every command written before it
    # has been handled, so a look for missed ones starts there.
    commands_through: datetime | None = None
    # One more with every card Baton writes, so an earlier card pasted back shows as older.
    rev: int = 0

    def next_revision(self) -> IncidentState:
        return replace(self, rev=self.rev + 1)

    @property
    def liaison_or_ic(self) -> str | None:
        """The External Liaison defaults to the IC."""
        return self.liaison or self.ic

    def with_applied(self, comment_id: int) -> IncidentState:
        kept = tuple(i for i in self.applied if i != comment_id)
        return replace(self, applied=(*kept, comment_id)[-APPLIED_MEMORY:])

    def has_applied(self, comment_id: int) -> bool:
        return comment_id in self.applied

    def with_linked_issue(self, kind: str, number: int) -> IncidentState:
        """Record an issue Baton opened for this incident (its retrospective or an action)."""
        if kind == "retrospective":
            return replace(self, retro=number)
        return replace(self, actions=(*self.actions, number))


def format_time(moment: datetime) -> str:
    """UTC ISO-8601 with a `Z`, to the second: `2026-11-24T10:00:00Z`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return moment.astimezone(UTC)


_Time = Annotated[datetime, msgspec.Meta(tz=True)]


class _CardHandoff(msgspec.Struct, kw_only=True, rename={"from_login": "from"}):
    """A `Handoff` as the card's JSON holds it."""

    role: str = "ic"
    from_login: str | None = None
    to: str
    requested_at: _Time
    notes: str | None = ""
    comment_id: int | None = None


class _Card(msgspec.Struct, kw_only=True):
    """The card's JSON object, without the MAC: its keys, in their order, are what every card
    already written holds; a key missing from an older card reads as its default."""

    v: int
    rev: int = 0  # cards written before revisions count as the first
    status: Status
    severity: str
    ic: str | None = None
    liaison: str | None = None
    smes: tuple[Sme, ...] = ()
    pending_handoff: _CardHandoff | None = None
    declared_at: _Time | None = None
    acknowledged_at: _Time | None = None
    mitigated_at: _Time | None = None
    resolved_at: _Time | None = None
    closed_at: _Time | None = None
    last_update_at: _Time | None = None
    close_wait_from: _Time | None = None
    confirmed_at: _Time | None = None
    snoozed_until: _Time | None = None
    last_activity_at: _Time | None = None
    commands_through: _Time | None = None
    retro: int | None = None
    actions: tuple[int, ...] = ()
    reporter: str | None = None
    impact: str | None = None
    started: str | None = None
    close_reason: str | None = None
    report_done: bool = False
    stale: bool = False
    nudges: tuple[str, ...] = ()
    applied: tuple[int, ...] = ()


# The keys whose values `IncidentState` holds under the same name.
_SAME_NAMES = tuple(n for n in _Card.__struct_fields__ if n not in ("v", "pending_handoff"))
_LISTS = ("smes", "actions", "nudges", "applied")  # where null reads as empty


def state_to_dict(state: IncidentState) -> dict[str, Any]:
    """The JSON object, without the MAC. Its keys are what every card already written holds."""
    handoff = state.pending_handoff
    card = _Card(
        v=STATE_VERSION,
        pending_handoff=None
        if handoff is None
        else _CardHandoff(
            role=handoff.role,
            from_login=handoff.from_login,
            to=handoff.to,
            requested_at=_as_written(handoff.requested_at),
            notes=handoff.notes,
            comment_id=handoff.comment_id,
        ),
        **{name: _as_written(getattr(state, name)) for name in _SAME_NAMES},
    )
    data: dict[str, Any] = msgspec.to_builtins(card)
    return data


def state_from_dict(data: Mapping[str, Any]) -> IncidentState:
    """Read a state object, checking every field's type; unknown keys are ignored."""
    if data.get("v") != STATE_VERSION:
        raise StateError(f"unknown state version {data.get('v')!r}")
    try:
        card = msgspec.convert(
            {**data, **{name: () for name in _LISTS if data.get(name, ()) is None}}, _Card
        )
    except msgspec.ValidationError as error:
        raise StateError(f"malformed state: {error}") from error
    handoff = card.pending_handoff
    return IncidentState(
        pending_handoff=None
        if handoff is None
        else Handoff(
            role=handoff.role,
            from_login=handoff.from_login,
            to=handoff.to,
            requested_at=handoff.requested_at.astimezone(UTC),
            notes=handoff.notes or "",
            comment_id=handoff.comment_id,
        ),
        **{name: _in_utc(getattr(card, name)) for name in _SAME_NAMES},
    )


def _as_written(value: Any) -> Any:
    """Times as the card writes them: in UTC, to the second (`format_time`)."""
    return format_time(value) if isinstance(value, datetime) else value


def _in_utc(value: Any) -> Any:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


# --- the MAC -----------------------------------------------------------------------------------


def derive_state_key(secret: str | bytes) -> bytes:
    """The MAC key: derived from the app's secret so the secret itself is never used twice."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"baton card state v1", hashlib.sha256).digest()


def issue_state_key(key: bytes, repo: str, number: int) -> bytes:
    """The MAC key for one issue's card, so a state line copied from another incident (or
    another repository) does not verify."""
    return hmac.new(key, f"{repo.lower()}#{number}".encode(), hashlib.sha256).digest()


# The card's text is the standard library's JSON: every non-ASCII character escaped, as every
# card already written has it (msgspec writes UTF-8), and its MAC over the keys sorted.
def _canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def compute_mac(data: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, _canonical(data), hashlib.sha256).hexdigest()


def encode_state(state: IncidentState, key: bytes) -> str:
    """The JSON text for the hidden line: MAC included, safe inside an HTML comment."""
    data = state_to_dict(state)
    data["mac"] = compute_mac(data, key)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    # JSON escapes are valid anywhere a character may appear in a string; outside strings our
    # JSON has no '-', '<' or '>' at all (no negative numbers), so these replacements are exact.
    return text.replace("-", "\\u002d").replace("<", "\\u003c").replace(">", "\\u003e")


def decode_state(text: str, key: bytes) -> IncidentState:
    """Read the hidden line's JSON; raise TamperedState if the MAC does not match."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise StateError(f"state is not JSON: {error.msg}") from error
    except RecursionError as error:  # arrays or objects nested thousands deep
        raise StateError("state is not JSON: nested too deep") from error
    if not isinstance(data, dict):
        raise StateError("state is not a JSON object")
    mac = data.pop("mac", None)
    state = state_from_dict(data)
    if not isinstance(mac, str) or not hmac.compare_digest(mac, compute_mac(data, key)):
        raise TamperedState("the state's MAC does not match: it was edited by hand")
    return state


__all__ = [
    "APPLIED_MEMORY",
    "OPEN_STATUSES",
    "SETTABLE_STATUSES",
    "Handoff",
    "IncidentState",
    "Sme",
    "StateError",
    "Status",
    "TamperedState",
    "decode_state",
    "derive_state_key",
    "encode_state",
    "format_time",
    "issue_state_key",
    "parse_time",
    "state_from_dict",
    "state_to_dict",
]
