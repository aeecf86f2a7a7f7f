"""Durations as the configuration spells them: `30m`, `2h`, `1d`, `1 hour 30 min`."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from app.config.problems import show
from app.incident import times

DURATION_HINT: Final = "use 30m, 2h, 1d"


def parse_duration(text: str) -> timedelta:
    """A duration as `times.parse_duration` reads it, refused in the configuration's words."""
    try:
        return times.parse_duration(text)
    except ValueError as error:
        raise ValueError(f"{show(text)} {error}; {DURATION_HINT}") from None
