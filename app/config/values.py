"""The kinds of value a key holds: each parser returns the typed value or raises ValueError
with a fix."""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays

from app.config.durations import DURATION_HINT, parse_duration
from app.config.problems import did_you_mean, show

MAX_SEVERITIES: Final = 20
MAX_REGIONS: Final = 20
PERMISSIONS: Final = ("read", "triage", "write", "maintain", "admin")

RETROSPECTIVE_OPENINGS: Final = ("resolved", "manual")
DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LABEL_MAX_LENGTH: Final = 50  # GitHub's limit for a label name


def _duration(raw: object) -> timedelta:
    if not isinstance(raw, str):
        raise ValueError(f"{show(raw)} is not a duration; {DURATION_HINT}")
    duration = parse_duration(raw)
    if duration <= timedelta(0):
        raise ValueError(f"{show(raw)} must be longer than zero; {DURATION_HINT}")
    return duration


def _name(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"{show(raw)} is not a name; use text such as incident")
    if len(raw) > LABEL_MAX_LENGTH:
        raise ValueError(f"{show(raw)} is too long; use at most {LABEL_MAX_LENGTH} characters")
    return raw.strip()


def _optional_name(raw: object) -> str | None:
    return None if raw is None else _name(raw)


def _names(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{show(raw)} is not a list; use [a, b]")
    names = tuple(_name(item) for item in raw)
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise ValueError(f"{', '.join(duplicates)} appears twice; name each once")
    return names


def _severities(raw: object) -> tuple[str, ...]:
    if isinstance(raw, list) and len(raw) > MAX_SEVERITIES:
        raise ValueError(f"has {len(raw)}; name at most {MAX_SEVERITIES}")
    severities = _names(raw)
    if not severities:
        raise ValueError("is empty; name at least one severity, most severe first")
    return severities


def _one_of(choices: Sequence[str], what: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        if isinstance(raw, str) and raw in choices:
            return raw
        raise ValueError(f"{show(raw)} is not {what}; {did_you_mean(raw, choices)}")

    return parse


def _one_or_more_of(choices: Sequence[str], what: str) -> Callable[[object], tuple[str, ...]]:
    def parse(raw: object) -> tuple[str, ...]:
        if not isinstance(raw, list):
            raise ValueError(f"{show(raw)} is not a list; use [{', '.join(choices[:2])}]")
        return tuple(dict.fromkeys(_one_of(choices, what)(item) for item in raw))

    return parse


_TEAM: Final = re.compile(r"@?([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9][A-Za-z0-9_.-]*)")


def _team(raw: object) -> str:
    match = _TEAM.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise ValueError(f"{show(raw)} is not a team; use org/slug, e.g. acme/sre")
    return f"{match[1]}/{match[2]}"


def _optional_team(raw: object) -> str | None:
    return None if raw is None else _team(raw)


def _teams(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{show(raw)} is not a list; use [acme/sre]")
    return tuple(dict.fromkeys(_team(item) for item in raw))


def _positive_number(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError(f"{show(raw)} is not a number; use e.g. 48")
    if raw <= 0:
        raise ValueError(f"{show(raw)} must be more than zero; use e.g. 48")
    return float(raw)


def _positive_whole_number(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise ValueError(f"{show(raw)} is not a whole number above zero; use e.g. 5")
    return raw


def _minute_of_day(latest: str) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", raw) if isinstance(raw, str) else None
        if match is not None:
            minute = int(match[1]) * 60 + int(match[2])
            if int(match[2]) < 60 and minute <= _clock_minutes(latest):
                return minute
        raise ValueError(f'{show(raw)} is not a time; use "HH:MM" from 00:00 to {latest}')

    return parse


def _clock_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@functools.cache
def _time_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def _timezone(raw: object) -> str:
    if isinstance(raw, str):
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return raw
    hint = did_you_mean(raw, _time_zones(), "use an IANA name such as Europe/London")
    raise ValueError(f"{show(raw)} is not a time zone; {hint}")


def _days(raw: object) -> frozenset[int]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{show(raw)} is not a list of days; use [mon, tue, wed, thu, fri]")
    day = _one_of(DAY_NAMES, "a day")
    return frozenset(
        DAY_NAMES.index(day(item.lower() if isinstance(item, str) else item)) for item in raw
    )


@functools.cache
def _holiday_countries() -> Mapping[str, Sequence[str]]:
    return MappingProxyType(dict(holidays.list_supported_countries()))


def _country(raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str) and raw.upper() in _holiday_countries():
        return raw.upper()
    raise ValueError(
        f"{show(raw)} is not a country known to the holidays package; use a code such as GB, US"
    )


def _subdivision(country: str | None) -> Callable[[object], str | None]:
    def parse(raw: object) -> str | None:
        if raw is None:
            return None
        if country is None:
            raise ValueError("needs holidays (a country code) in the same region")
        known = _holiday_countries()[country]
        if isinstance(raw, str) and raw.upper() in known:
            return raw.upper()
        raise ValueError(
            f"{show(raw)} is not a subdivision of {country}; use one of {', '.join(known)}"
        )

    return parse


def _dates(raw: object) -> frozenset[date]:
    if not isinstance(raw, list):
        raise ValueError(f"{show(raw)} is not a list of dates; use [2026-12-24]")
    return frozenset(_date(item) for item in raw)


def _date(raw: object) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValueError(f"{show(raw)} is not a date; use YYYY-MM-DD, e.g. 2026-12-24")


_PROJECT_URL: Final = re.compile(r"https?://[^/\s]+/(?:orgs|users)/[A-Za-z0-9-]+/projects/[0-9]+/?")


def _project_url(raw: object) -> str:
    if isinstance(raw, str) and _PROJECT_URL.fullmatch(raw):
        return raw.rstrip("/")
    raise ValueError(
        f"{show(raw)} is not a project URL; use https://github.com/orgs/OWNER/projects/N "
        "or https://github.com/users/OWNER/projects/N"
    )
