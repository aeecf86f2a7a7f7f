"""The kinds of value a key holds: each a type with constraints that pydantic checks, and how
a refused value reads for the user (`"1 hour" is not a duration; use 30m, 2h, 1d`).

Pydantic rather than msgspec: its errors are structured (the kind of failure, where in a list,
the limit that was crossed), so each refusal reads as Baton's own sentence instead of being
parsed out of a library's message; checks of Baton's own (a time zone, a holiday country, a
choice with a suggestion) sit in the type as validators; and the validation context carries
what depends on other keys (the configured severities, the region's country). `app/settings.py`
validates the process settings with it too.

Values are checked strictly: `48` is a number and `"48"` is not, `true` is not a number.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Final, Generic, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays
from annotated_types import Gt, Le, MaxLen, MinLen
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BeforeValidator,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from app.config.durations import DURATION_HINT, parse_duration
from app.config.problems import did_you_mean, show
from app.incident.notices import MOMENTS

MAX_SEVERITIES: Final = 20
PERMISSIONS: Final = ("read", "triage", "write", "maintain", "admin")
RETROSPECTIVE_OPENINGS: Final = ("resolved", "manual")
DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LABEL_MAX_LENGTH: Final = 50  # GitHub's limit for a label name

T = TypeVar("T")


class Value(Generic[T]):
    """One kind of value: its type, and how a refused value reads.

    `refusal` is the sentence for a refused value, `{value}` being the value as the user wrote
    it, and the validation context's entries being there too; `refusals` gives another
    sentence for some kinds of pydantic error (`too_long` …), whose details (`{max_length}` …)
    it may use; `item` is the kind of each item of a list, whose refusals it explains. A check
    of Baton's own that raises ValueError speaks for itself.
    """

    def __init__(
        self, kind: Any, refusal: str = "", *, item: Value[Any] | None = None, **refusals: str
    ) -> None:
        self._adapter: TypeAdapter[T] = TypeAdapter(kind)
        self._refusal = refusal
        self._item = item
        self._refusals = refusals

    def parse(self, raw: object, **context: object) -> T:
        """The typed value, or ValueError with a sentence that says what to write instead."""
        try:
            return self._adapter.validate_python(raw, strict=True, context=context)
        except ValidationError as error:
            explained = self._explain(error.errors(include_url=False)[0], raw, context)
            raise ValueError(explained) from None

    def _explain(self, error: ErrorDetails, raw: Any, context: Mapping[str, object]) -> str:
        if error["type"] == "value_error":  # a check of Baton's own
            return str(error["ctx"]["error"])
        if error["loc"] and self._item is not None:  # an item of the list
            return self._item._sentence(error, raw[error["loc"][0]], context)
        return self._sentence(error, raw, context)

    def _sentence(self, error: ErrorDetails, raw: object, context: Mapping[str, object]) -> str:
        sentence = self._refusals.get(error["type"], self._refusal)
        return sentence.format_map({**context, **error.get("ctx", {}), "value": show(raw)})


def _refused() -> Any:
    """Refuse a value with the kind's own sentence."""
    raise PydanticCustomError("refused", "refused")


def _context(info: ValidationInfo) -> dict[str, Any]:
    assert isinstance(info.context, dict)
    return info.context


def _each_once(names: list[str]) -> tuple[str, ...]:
    twice = sorted(name for name, count in Counter(names).items() if count > 1)
    if twice:
        raise ValueError(f"{', '.join(twice)} appears twice; name each once")
    return tuple(names)


def _distinct(items: list[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(items))


def _one_of(what: str, choices: Sequence[str] | None = None) -> BeforeValidator:
    """One of `choices`, or of the validation context's `choices` when they depend on other
    keys; a refusal suggests the closest choice."""

    def check(raw: object, info: ValidationInfo) -> object:
        known = choices if choices is not None else _context(info)["choices"]
        if isinstance(raw, str) and raw in known:
            return raw
        raise ValueError(f"{show(raw)} is not {what}; {did_you_mean(raw, known)}")

    return BeforeValidator(check)


# --- names, severities, teams ------------------------------------------------------------------

Name = Annotated[str, MaxLen(LABEL_MAX_LENGTH), AfterValidator(str.strip), MinLen(1)]
_NOT_A_NAME: Final = "{value} is not a name; use text such as incident"
_TOO_LONG: Final = "{value} is too long; use at most {max_length} characters"
NAME: Final = Value[str](Name, _NOT_A_NAME, string_too_long=_TOO_LONG)
OPTIONAL_NAME: Final = Value[str | None](Name | None, _NOT_A_NAME, string_too_long=_TOO_LONG)
SEVERITIES: Final = Value[tuple[str, ...]](
    Annotated[list[Name], MinLen(1), MaxLen(MAX_SEVERITIES), AfterValidator(_each_once)],
    "{value} is not a list; use [a, b]",
    item=NAME,
    too_long="has {actual_length}; name at most {max_length}",
    too_short="is empty; name at least one severity, most severe first",
)
# Validated with the context's `choices`: the severities configured.
SEVERITY: Final = Value[str](Annotated[str, _one_of("a severity")])
SOME_SEVERITIES: Final = Value[tuple[str, ...]](
    Annotated[list[Annotated[str, _one_of("a severity")]], AfterValidator(_distinct)],
    "{value} is not a list; use [{example}]",
)
PERMISSION: Final = Value[str](Annotated[str, _one_of("a permission", PERMISSIONS)])
RETROSPECTIVE_OPENING: Final = Value[str](
    Annotated[str, _one_of("a retrospective opening", RETROSPECTIVE_OPENINGS)]
)

Team = Annotated[
    str,
    StringConstraints(pattern=r"^@?[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9][A-Za-z0-9_.-]*$"),
    AfterValidator(lambda team: team.removeprefix("@")),
]
_TEAM_REFUSAL: Final = "{value} is not a team; use org/slug, e.g. acme/sre"
TEAM: Final = Value[str](Team, _TEAM_REFUSAL)
OPTIONAL_TEAM: Final = Value[str | None](Team | None, _TEAM_REFUSAL)
TEAMS: Final = Value[tuple[str, ...]](
    Annotated[list[Team], AfterValidator(_distinct)],
    "{value} is not a list; use [acme/sre]",
    item=TEAM,
)

# --- clocks ------------------------------------------------------------------------------------


def _duration_of_text(raw: object) -> object:
    return parse_duration(raw) if isinstance(raw, str) else raw


DURATION: Final = Value[timedelta](
    Annotated[timedelta, BeforeValidator(_duration_of_text), Gt(timedelta(0))],
    f"{{value}} is not a duration; {DURATION_HINT}",
    greater_than=f"{{value}} must be longer than zero; {DURATION_HINT}",
)
WORKING_HOURS: Final = Value[float](
    Annotated[float, Gt(0), AllowInfNan(False)],
    "{value} is not a number; use e.g. 48",
    greater_than="{value} must be more than zero; use e.g. 48",
)
WORKING_DAYS: Final = Value[int](
    Annotated[int, Gt(0)], "{value} is not a whole number above zero; use e.g. 5"
)

# --- working hours ------------------------------------------------------------------------------


def _minute_of_day(latest: str) -> Value[int]:
    hours, minutes = latest.split(":")
    return Value[int](
        Annotated[
            str,
            StringConstraints(pattern=r"^[0-9]{1,2}:[0-5][0-9]$"),
            AfterValidator(lambda text: int(text[:-3]) * 60 + int(text[-2:])),
            Le(int(hours) * 60 + int(minutes)),
        ],
        f'{{value}} is not a time; use "HH:MM" from 00:00 to {latest}',
    )


START: Final = _minute_of_day("23:59")
END: Final = _minute_of_day("24:00")


@functools.cache
def _time_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def _known_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        hint = did_you_mean(name, _time_zones(), "use an IANA name such as Europe/London")
        raise ValueError(f"{show(name)} is not a time zone; {hint}") from None
    return name


TIME_ZONE: Final = Value[str](
    Annotated[str, AfterValidator(_known_time_zone)],
    "{value} is not a time zone; use an IANA name such as Europe/London",
)

Day = Annotated[
    int,
    BeforeValidator(DAY_NAMES.index),
    _one_of("a day", DAY_NAMES),
    BeforeValidator(lambda raw: raw.lower() if isinstance(raw, str) else raw),
]  # Before validators run last first: lower case, check, then the day's number (Monday 0)
DAYS: Final = Value[frozenset[int]](
    Annotated[list[Day], MinLen(1), AfterValidator(frozenset)],
    "{value} is not a list of days; use [mon, tue, wed, thu, fri]",
)


@functools.cache
def _holiday_countries() -> Mapping[str, Sequence[str]]:
    return MappingProxyType(dict(holidays.list_supported_countries()))


def _holiday_country(raw: object) -> str:
    if isinstance(raw, str) and raw.upper() in _holiday_countries():
        return raw.upper()
    return _refused()


COUNTRY: Final = Value[str | None](
    Annotated[str, BeforeValidator(_holiday_country)] | None,
    "{value} is not a country known to the holidays package; use a code such as GB, US",
)


def _subdivision_of_country(raw: object, info: ValidationInfo) -> str:
    """A subdivision of the validation context's `country`."""
    country = _context(info)["country"]
    if country is None:
        raise ValueError("needs holidays (a country code) in the same region")
    known = _holiday_countries()[country]
    if isinstance(raw, str) and raw.upper() in known:
        return raw.upper()
    raise ValueError(
        f"{show(raw)} is not a subdivision of {country}; use one of {', '.join(known)}"
    )


SUBDIVISION: Final = Value[str | None](
    Annotated[str, BeforeValidator(_subdivision_of_country)] | None
)


def _date_of_text(raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return _refused()


Date = Annotated[date, BeforeValidator(_date_of_text)]
DATE: Final = Value[date](
    Date,
    "{value} is not a date; use YYYY-MM-DD, e.g. 2026-12-24",
)
DATES: Final = Value[frozenset[date]](
    Annotated[list[Date], AfterValidator(frozenset)],
    "{value} is not a list of dates; use [2026-12-24]",
    item=DATE,
)

# --- project ----------------------------------------------------------------------------------

PROJECT_URL: Final = Value[str](
    Annotated[
        str,
        StringConstraints(
            pattern=r"^https?://[^/\s]+/(?:orgs|users)/[A-Za-z0-9-]+/projects/[0-9]+/?$"
        ),
        AfterValidator(lambda url: url.rstrip("/")),
    ],
    "{value} is not a project URL; use https://github.com/orgs/OWNER/projects/N "
    "or https://github.com/users/OWNER/projects/N",
)

# --- notifications ----------------------------------------------------------------------------

CHAT_MOMENTS: Final = Value[frozenset[str]](
    Annotated[list[Annotated[str, _one_of("a moment", MOMENTS)]], AfterValidator(frozenset)],
    "{value} is not a list of moments; use [declared, resolved]",
)
