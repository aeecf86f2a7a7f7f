"""Durations as the configuration spells them: `30m`, `2h`, `1d`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from app.config.problems import show

_DURATION: Final = re.compile(
    r"(?:(?P<weeks>[0-9]{1,9})w)?(?:(?P<days>[0-9]{1,9})d)?(?:(?P<hours>[0-9]{1,9})h)?"
    r"(?:(?P<minutes>[0-9]{1,9})m)?(?:(?P<seconds>[0-9]{1,9})s)?",
    re.IGNORECASE,
)
DURATION_HINT: Final = "use 30m, 2h, 1d"


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `90s`, `1h30m` (also `1w`, and spaces between parts)."""
    match = _DURATION.fullmatch(re.sub(r"\s+", "", text))
    if match is None or not any(match.groups()):
        raise ValueError(f"{show(text)} is not a duration; {DURATION_HINT}")
    parts = {unit: int(amount) for unit, amount in match.groupdict().items() if amount}
    try:
        return timedelta(**parts)
    except OverflowError:
        raise ValueError(f"{show(text)} is too long a duration; {DURATION_HINT}") from None
