"""What Baton last wrote of each incident's body, kept where every process sees it (the
delivery store), not in one process's memory.

Two checks need it. A validly signed card older than the last one Baton wrote was pasted back
from the body's edit history: nothing is decided on it (`Work.load_incident`). And the
`issues.edited` delivery of Baton's own write shows, in `changes.body.from`, the body it
replaced: when that is not the body Baton read before writing, a person's edit made in between
was undone, and their text goes back in (app/handlers/edits.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Written:
    body: str  # the body Baton wrote
    over: str  # the digest of the body it believed it replaced

    def replaced_another(self, replaced: str) -> bool:
        """Whether the write replaced another body than Baton believed it did."""
        return body_digest(replaced) != self.over


class Writes(Protocol):
    async def last_written(self, repo: str, number: int) -> Written | None:
        """The last body Baton wrote of the issue, if it is known."""
        ...
