"""Times and durations as people write and read them: one grammar for each, shared by the
command parser, the rules, the retrospective's timeline and the configuration."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# --- durations -----------------------------------------------------------------------------------


def duration(length: timedelta) -> str:
    """A duration as people say it: `1 d 2 h 5 min`, `30 min`; whole minutes, never negative."""
    total = max(0, int(length.total_seconds() // 60))
    days, rest = divmod(total, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{minutes} min" if minutes or not (days or hours) else "")
    return " ".join(part for part in parts if part)


# Largest unit first, each at most once: `1h30m`, `1h 30m`, `2W`, `1 hour 30 mins`, `90 minutes`.
_DURATION_UNITS = (
    ("weeks", "weeks?|w"),
    ("days", "days?|d"),
    ("hours", "hours?|hrs?|h"),
    ("minutes", "minutes?|mins?|m"),
    ("seconds", "seconds?|secs?|s"),
)
_DURATION = re.compile(
    "".join(
        rf"(?:\s*(?P<{unit}>[0-9]+)\s*(?:{names})(?![A-Za-z]))?" for unit, names in _DURATION_UNITS
    ),
    re.IGNORECASE,
)


def parse_duration(text: str) -> timedelta:
    """The duration that is the whole of `text` (spaces around it allowed).

    Raises ValueError, whose message (`is not a duration`, `is too long a duration`) the caller
    completes with the text it read."""
    match = _DURATION.match(text)
    if match is None or not match.group() or text[match.end() :].strip():
        raise ValueError("is not a duration")
    return _length(match)


def duration_at_start(text: str) -> tuple[str, str] | None:
    """The duration `text` starts with, written short (`1 hour 30 mins` -> `1h30m`), and the
    text after it; None when `text` does not start with a duration followed by a space or its
    end."""
    match = _DURATION.match(text)
    if match is None or not match.group() or text[match.end() : match.end() + 1].strip():
        return None
    short = "".join(
        (amount.lstrip("0") or "0") + unit[0]
        for unit, amount in match.groupdict().items()
        if amount is not None
    )
    return short, text[match.end() :]


def _length(match: re.Match[str]) -> timedelta:
    parts = {unit: amount for unit, amount in match.groupdict().items() if amount is not None}
    try:
        return timedelta(**{unit: int(amount) for unit, amount in parts.items()})
    except (OverflowError, ValueError):  # ValueError: more digits than int() reads
        raise ValueError("is too long a duration") from None


# --- the time of a /note -------------------------------------------------------------------------

# A zone name must start with an IANA area, so that `/note 14:05 and/or later` is a note at 14:05.
_ZONE_AREAS = "Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc"
_OFFSET = r"[+-][0-9]{2}:?[0-9]{2}"
_NOTE_TIME = re.compile(
    r"(?:(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[ T])?"
    r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?"
    # `Z` and an offset may follow the time directly; a name after a space.
    rf"(?:(?:(?=[Z+-])|\s+)(?P<zone>UTC|GMT|Z|{_OFFSET}|(?:{_ZONE_AREAS})(?:/[A-Za-z0-9_+-]+)+))?"
    r"(?=\s|$)"
)
_LARGEST_OFFSET = timedelta(hours=14)


def note_time_at_start(text: str) -> tuple[str, str] | None:
    """The time a `/note`'s text starts with, its spaces made single (`14:05 Europe/Paris`), and
    the text after it; None when the text does not start with a time."""
    match = _NOTE_TIME.match(text.lstrip())
    if match is None:
        return None
    return " ".join(match.group().split()), text.lstrip()[match.end() :]


def is_clock_time(token: str) -> bool:
    """Whether a `/note` time names a real date and time of day (not `25:00`, not February 30)."""
    match = _NOTE_TIME.fullmatch(token)
    if match is None:
        return False
    try:
        _clock(match)
        if match["date"]:
            date.fromisoformat(match["date"])
    except ValueError:
        return False
    return True


def note_time(token: str, written_at: datetime) -> datetime:
    """When a `/note` happened, resolved against its comment's own `created_at`.

    `HH:MM` is that day, or the day before if that would be after `written_at`;
    `YYYY-MM-DD HH:MM` is that day. UTC, unless a zone name (`Europe/Paris`, whose own day
    counts) or an offset (`+01:00`) follows. A note records the past: a later time is refused.
    """
    match = _NOTE_TIME.fullmatch(token.strip())
    if match is None:
        raise ValueError(
            f"the /note time {token!r} is not `HH:MM` or `YYYY-MM-DD HH:MM` (with an optional zone)"
        )
    written_at = written_at.astimezone(UTC)
    try:
        moment = _note_moment(match, written_at, _zone(match["zone"]))
    except (ValueError, OverflowError) as error:
        raise ValueError(f"the /note time {token!r} cannot be read: {error}") from None
    if moment > written_at:
        raise ValueError(
            f"the /note time {token!r} is in the future: a note records what already happened"
        )
    return moment


def _clock(match: re.Match[str]) -> time:
    return time(int(match["hour"]), int(match["minute"]), int(match["second"] or 0))


def _note_moment(match: re.Match[str], written_at: datetime, zone: tzinfo) -> datetime:
    clock = _clock(match)
    if match["date"]:
        return datetime.combine(date.fromisoformat(match["date"]), clock, zone).astimezone(UTC)
    day = written_at.astimezone(zone).date()
    moment = datetime.combine(day, clock, zone).astimezone(UTC)
    if moment <= written_at:
        return moment
    return datetime.combine(day - timedelta(days=1), clock, zone).astimezone(UTC)


def _zone(name: str | None) -> tzinfo:
    if name is None or name in {"Z", "UTC", "GMT"}:
        return UTC
    if name[0] in "+-":
        digits = name[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset > _LARGEST_OFFSET:
            raise ValueError("a UTC offset beyond ±14:00")
        return timezone(offset if name[0] == "+" else -offset)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"no time zone is called {name!r}") from None
