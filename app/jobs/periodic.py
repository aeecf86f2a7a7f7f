"""A job run in the background of the server every few seconds: the sweep, the redelivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs a job every `every` seconds in the background until stopped; 0 never runs it."""

    def __init__(
        self, job: Callable[[], Awaitable[object]], every: float, *, at_start: bool, name: str
    ) -> None:
        self._job = job
        self._every = every
        self._at_start = at_start
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._every > 0:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        if not self._at_start:
            await asyncio.sleep(self._every)
        while True:
            try:
                await self._job()
            except Exception:  # the next round tries again; the server keeps serving
                log.exception("%s failed", self._name)
            await asyncio.sleep(self._every)
