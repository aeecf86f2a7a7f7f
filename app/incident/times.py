"""Times people write and durations people read: pure helpers shared by the rules and the
retrospective's timeline."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def duration(length: timedelta) -> str:
    """A duration as people say it: `1 d 2 h 5 min`, `30 min`; whole minutes, never negative."""
    total = max(0, int(length.total_seconds() // 60))
    days, rest = divmod(total, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{minutes} min" if minutes or not (days or hours) else "")
    return " ".join(part for part in parts if part)


_NOTE_TIME = re.compile(
    r"(?:(?P<date>\d{4}-\d{2}-\d{2})[ T])?"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2}|[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)+))?",
    re.IGNORECASE,
)
_LARGEST_OFFSET = timedelta(hours=14)


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


def _note_moment(match: re.Match[str], written_at: datetime, zone: tzinfo) -> datetime:
    clock = time(int(match["hour"]), int(match["minute"]), int(match["second"] or 0))
    if match["date"]:
        return datetime.combine(date.fromisoformat(match["date"]), clock, zone).astimezone(UTC)
    day = written_at.astimezone(zone).date()
    moment = datetime.combine(day, clock, zone).astimezone(UTC)
    if moment <= written_at:
        return moment
    return datetime.combine(day - timedelta(days=1), clock, zone).astimezone(UTC)


def _zone(name: str | None) -> tzinfo:
    if name is None or name.upper() in {"Z", "UTC", "GMT"}:
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
