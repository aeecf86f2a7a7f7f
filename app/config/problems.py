"""What goes wrong reading a configuration, and how it reads for the user: each problem names
the key (or the file) and a fix."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from app.incident.config import Config
from app.incident.suggestions import closest


@dataclass(frozen=True)
class ConfigProblem:
    path: str  # "clocks.update_every.sev2", or the file for a problem with the whole file
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class LoadResult:
    config: Config
    problems: tuple[ConfigProblem, ...]
    sources: tuple[str, ...]  # the files that were merged, lowest priority first


def shorten(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def show(raw: object) -> str:
    """A value as the user wrote it, short enough for a one-line problem."""
    if isinstance(raw, str):
        return json.dumps(shorten(raw), ensure_ascii=False)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, Mapping):
        return "a mapping"
    if isinstance(raw, list | tuple):
        return "a list"
    return str(raw)[:40]


def did_you_mean(name: object, known: Sequence[str], otherwise: str | None = None) -> str:
    """The one close match; else `otherwise`, or the whole list."""
    match = closest(str(name)[:100], known)
    if match is not None:
        return f'did you mean "{match}"?'
    return otherwise or f"use one of {', '.join(known)}"


FILE_IGNORED: Final = "Baton uses the defaults instead of this file"


def not_a_mapping(document: object) -> str:
    return (
        f"the top level is {show(document)}, not a mapping of keys (labels:, clocks: …); "
        f"{FILE_IGNORED}"
    )
