"""Whether a part of the server can use the delivery store, as its last attempt found.

A store that fails (locked by another program, read-only, out of space, damaged) is not a
reason to stop: the part keeps trying and works again once the cause is gone. Meanwhile
`/healthz` says what fails and since when, and deliveries are refused rather than
acknowledged and left undone. A streak of failures is logged when it starts and when it ends,
not at every attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Trouble:
    what: str  # what fails, e.g. "claiming deliveries"
    error: str
    since: datetime
    failures: int  # attempts failed in a row

    def reason(self) -> str:
        return f"{self.what} fails: {self.error}"


class Health:
    def __init__(self, what: str, clock: Callable[[], datetime]) -> None:
        self._what = what
        self._clock = clock
        self._trouble: Trouble | None = None

    @property
    def trouble(self) -> Trouble | None:
        """None while the last attempt worked."""
        return self._trouble

    def failed(self, error: Exception) -> Trouble:
        text = f"{type(error).__name__}: {error}"
        if self._trouble is None:
            log.error(
                "%s fails (%s); trying again until it works", self._what, text, exc_info=error
            )
            self._trouble = Trouble(self._what, text, self._clock(), 1)
        else:
            self._trouble = Trouble(
                self._what, text, self._trouble.since, self._trouble.failures + 1
            )
        return self._trouble

    def worked(self) -> None:
        if self._trouble is not None:
            log.warning(
                "%s works again, after %d failed attempts since %s",
                self._what,
                self._trouble.failures,
                self._trouble.since.isoformat(timespec="seconds"),
            )
            self._trouble = None
