"""Reading a file and the files it `_extends`, from GitHub through a `fetch` function."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from app.config.document import parse_document
from app.config.problems import ConfigProblem, show

CONFIG_PATH: Final = ".github/baton.yml"


MAX_EXTENDS: Final = 3


Fetch = Callable[[str, str, str], Awaitable[str | None]]


@dataclass(frozen=True)
class ConfigSource:
    owner: str
    repo: str
    path: str = CONFIG_PATH

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}:{self.path}"


_EXTENDS: Final = re.compile(
    r"(?:(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/)?(?P<repo>[A-Za-z0-9._-]{1,100})"
    r"(?::(?P<path>[A-Za-z0-9._/-]+\.ya?ml))?"
)


def extends_target(raw: object, owner: str) -> ConfigSource:
    """`other-repo` (same owner), `owner/repo`, or `owner/repo:path/to/file.yml`."""
    match = _EXTENDS.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None or ".." in (match["path"] or "").split("/"):
        raise ValueError(
            f"{show(raw)} is not a file to extend; use other-repo, owner/repo "
            "or owner/repo:path/to/file.yml"
        )
    return ConfigSource(match["owner"] or owner, match["repo"], match["path"] or CONFIG_PATH)


class Unreadable(Exception):
    """Raised by `fetch` for a file GitHub refuses to show Baton (403), as opposed to a file
    that is absent; the message says why, for the user."""


@dataclass(frozen=True)
class Layer:
    source: ConfigSource
    document: Mapping[object, object]


async def read_chain(
    fetch: Fetch, start: ConfigSource, problems: list[ConfigProblem]
) -> list[Layer]:
    """A file and the files it `_extends`, lowest priority (the deepest) first."""
    chain: list[Layer] = []
    source: ConfigSource | None = start
    while source is not None:
        try:
            text = await fetch(source.owner, source.repo, source.path)
        except Unreadable as reason:
            problems.append(ConfigProblem(str(source), f"Baton cannot read it: {reason}"))
            break
        if text is None:
            if chain:
                problems.append(_extends_problem(chain[0].source, f"{source} does not exist"))
            break
        document, problem = await asyncio.to_thread(parse_document, text, str(source))
        if document is None:
            problems.extend([problem] if problem else [])
            break
        chain.insert(0, Layer(source, document))
        source = _next_in_chain(chain, problems)
    return chain


def _next_in_chain(chain: list[Layer], problems: list[ConfigProblem]) -> ConfigSource | None:
    latest = chain[0]
    raw = latest.document.get("_extends")
    if raw is None:
        return None
    try:
        target = extends_target(raw, latest.source.owner)
    except ValueError as error:
        problems.append(_extends_problem(latest.source, str(error)))
        return None
    if any(layer.source == target for layer in chain):
        problems.append(_extends_problem(latest.source, f"{target} is already read (a cycle)"))
        return None
    if len(chain) > MAX_EXTENDS:
        reason = f"more than {MAX_EXTENDS} levels of _extends; {target} is not read"
        problems.append(_extends_problem(latest.source, reason))
        return None
    return target


def _extends_problem(source: ConfigSource, reason: str) -> ConfigProblem:
    return ConfigProblem("_extends", f"in {source}: {reason}; the files below it are ignored")
