"""A command's arguments: the words after its name, read by the command's own grammar.

A reader never raises: a malformed argument is a `problem`, a reason that the parser completes
with the command and its usage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from app.incident import times
from app.incident.logins import LOGIN_PATTERN
from app.incident.state import SETTABLE_STATUSES
from app.incident.text import code

_TOKEN = re.compile(r"\s*(?P<token>\S+)(?P<rest>.*)")
_MENTION = re.compile(rf"@(?P<login>{LOGIN_PATTERN})[,.;:!?)]*")
_TEAM = re.compile(rf"@{LOGIN_PATTERN}/\S+")
_SEVERITY_NUMBER = re.compile(r"(?:sev)?(?P<number>[0-9]+)", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]+")
_SEVERITY_WORD = re.compile(r"[A-Za-z0-9_-]+")
_SEVERITY_IN_TITLE = re.compile(r"\s*sev ?(?P<number>[0-9]+)(?=\s|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Arguments:
    user: str | None = None
    word: str | None = None
    rest: str = ""  # the rest of the command line after the arguments
    problem: str | None = None  # a reason, completed with the command and usage later


def _first_token(rest: str) -> tuple[str, str] | None:
    match = _TOKEN.match(rest)
    return None if match is None else (match["token"], match["rest"])


def _user_in(token: str) -> tuple[str | None, str | None]:
    """(login or "me", None), or (None, the reason the token names no person)."""
    if token.lower() in ("me", "@me"):
        return "me", None
    mention = _MENTION.fullmatch(token)
    if mention is not None:
        return mention["login"], None
    if _TEAM.fullmatch(token):
        return None, f"names the team {code(token)}; name a person, not a team"
    if token.startswith("@"):
        return None, f"names {code(token)}, which is not a GitHub login"
    return None, "needs a @user or `me`"


def _read_user(rest: str) -> Arguments:
    first = _first_token(rest)
    if first is None:
        return Arguments(problem="needs a @user or `me`")
    user, problem = _user_in(first[0])
    return Arguments(user=user, rest=first[1], problem=problem)


def _read_optional_user(rest: str) -> Arguments:
    if _first_token(rest) is None:
        return Arguments(user="me")
    return _read_user(rest)


def _read_sme(rest: str) -> Arguments:
    first = _first_token(rest)
    if first is not None and first[0].lower() == "remove":
        removal = _read_user(first[1])
        return Arguments(user=removal.user, word="remove", problem=removal.problem)
    return _read_user(rest)


def _read_severity(rest: str) -> Arguments:
    first = _first_token(rest)
    if first is None:
        return Arguments(problem="needs a severity such as `sev2` or `2`")
    token, after = first
    second = _first_token(after)
    if token.lower() == "sev" and second is not None and _DIGITS.fullmatch(second[0]):
        token, after = token + second[0], second[1]
    number = _SEVERITY_NUMBER.fullmatch(token)
    if number is not None:
        return Arguments(word=_severity_name(number["number"]), rest=after)
    if _SEVERITY_WORD.fullmatch(token):
        return Arguments(word=token.lower(), rest=after)
    return Arguments(problem=f"needs a severity such as `sev2`, not {code(token)}")


def _severity_name(number: str) -> str:
    return "sev" + (number.lstrip("0") or "0")


def _read_declaration(rest: str) -> Arguments:
    severity = _SEVERITY_IN_TITLE.match(rest)
    if severity is None:
        return Arguments(rest=rest)
    return Arguments(word=_severity_name(severity["number"]), rest=rest[severity.end() :])


def _read_status(rest: str) -> Arguments:
    first = _first_token(rest)
    if first is not None and first[0].lower() in SETTABLE_STATUSES:
        return Arguments(word=first[0].lower(), rest=first[1])
    return Arguments(problem="needs a status")


def _read_duration(rest: str) -> Arguments:
    found = times.duration_at_start(rest)
    if found is None:
        return Arguments(problem="needs a duration such as `30m`, `2h` or `1h30m`")
    return Arguments(word=found[0], rest=found[1])


def _read_note_time(rest: str) -> Arguments:
    found = times.note_time_at_start(rest)
    if found is None:
        return Arguments(rest=rest)
    written, after = found
    if not times.is_clock_time(written):
        return Arguments(problem=f"starts with {code(written)}, which is not a real time")
    return Arguments(word=written, rest=after)


def _read_nothing(rest: str) -> Arguments:
    return Arguments(rest=rest)


_READERS: dict[str, Callable[[str], Arguments]] = {
    "declare": _read_declaration,
    "ic": _read_optional_user,
    "handoff": _read_user,
    "liaison": _read_user,
    "sme": _read_sme,
    "severity": _read_severity,
    "status": _read_status,
    "snooze": _read_duration,
    "note": _read_note_time,
}


def read_arguments(name: str, rest: str) -> Arguments:
    """The arguments of the command `name` (canonical), read from the rest of its line."""
    return _READERS.get(name, _read_nothing)(rest)
