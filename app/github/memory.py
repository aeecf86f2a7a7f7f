"""What this process last saw of each incident issue, so a command needs no fresh read of it.

Every read of an issue and every answer to Baton's own `PATCH` of it is remembered. A command's
payload carries the issue too, as it was when the comment was made; between the two, the newer
one (by `updated_at`) is the issue as Baton can best know it without asking.

Neither can show a person's edit of the body made after the command's comment and before
Baton's write, which that write would undo. So every body Baton writes is remembered with the
body it was written over, as Baton believed it: when GitHub's `issues.edited` delivery for
Baton's own write shows another body replaced (`changes.body.from`), someone's edit was
overwritten and Baton puts their text back (`app/handlers/edits.py`). The last body Baton wrote
of each issue is kept too: a card older than the one in it was pasted back by someone.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TypeVar

from app.incident.effects import IssueView

# How many issues, and how many of Baton's body writes, are kept; the oldest go first. Open
# incidents are few, and a write is checked within seconds, when its delivery comes back.
ISSUES_KEPT = 256
WRITES_KEPT = 4096

Key = tuple[str, int]
_K = TypeVar("_K")
_V = TypeVar("_V")


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class IssueMemory:
    issues_kept: int = ISSUES_KEPT
    writes_kept: int = WRITES_KEPT
    _issues: OrderedDict[Key, IssueView] = field(default_factory=OrderedDict, repr=False)
    # (repo, number, digest of a body Baton wrote) -> digest of the body it believed it replaced
    _replaced: OrderedDict[tuple[str, int, str], str] = field(
        default_factory=OrderedDict, repr=False
    )
    _last_written: OrderedDict[Key, str] = field(default_factory=OrderedDict, repr=False)

    def saw(self, issue: IssueView) -> None:
        """The issue as GitHub answered a read or a write of it."""
        _keep(self._issues, (issue.repo, issue.number), issue, self.issues_kept)

    def last_seen(self, repo: str, number: int) -> IssueView | None:
        return self._issues.get((repo, number))

    def wrote(self, repo: str, number: int, *, body: str, over: str) -> None:
        """Baton wrote `body`, believing the issue's body was `over`."""
        _keep(self._replaced, (repo, number, _digest(body)), _digest(over), self.writes_kept)
        _keep(self._last_written, (repo, number), body, self.issues_kept)

    def last_written(self, repo: str, number: int) -> str | None:
        """The last body Baton wrote of the issue, if this process wrote one (and remembers it)."""
        return self._last_written.get((repo, number))

    def overwrote_someone(self, repo: str, number: int, *, body: str, replaced: str) -> bool:
        """Whether Baton's write of `body` replaced another body than it believed it did. False
        when this process did not make that write (or has forgotten it)."""
        believed = self._replaced.get((repo, number, _digest(body)))
        return believed is not None and believed != _digest(replaced)


def newest(remembered: IssueView, offered: IssueView | None) -> IssueView | None:
    """The newer of what was remembered and what a payload offers; None when their times cannot
    tell, and the issue must be read.

    GitHub's times have whole seconds, so a payload stamped in the same second as Baton's last
    write may come from before it or after it, and a person's change may lie between."""
    if offered is None or offered.updated_at is None or remembered.updated_at is None:
        return None
    if offered.updated_at == remembered.updated_at:
        return None
    return offered if offered.updated_at > remembered.updated_at else remembered


def _keep(cache: OrderedDict[_K, _V], key: _K, value: _V, size: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)
