"""A job run in the background of the server every few seconds: the sweep, the redelivery, the
pruning of old deliveries.

These jobs concern the whole deployment, not one process: with several `baton serve` processes
on one database, each job runs on the process that holds its lease (`JobLease`, kept in the store
by `hold_job`). The holder renews it every third of a lease; when the holder dies or stops,
another process takes the job over within a lease and a third, and runs it as soon as it is due
there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from app.server.store import DeliveryStore

log = logging.getLogger(__name__)

JOB_LEASE = timedelta(seconds=30)  # how long a job's holder that died keeps it


def process_name() -> str:
    """This process, as the holder of a job's lease: unique even across restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobLease:
    """This process's hold on one job: taken when no other process holds it, renewed while the
    process lives, given up when it stops."""

    def __init__(
        self,
        store: DeliveryStore,
        job: str,
        *,
        holder: str,
        clock: Callable[[], datetime],
        lease: timedelta = JOB_LEASE,
    ) -> None:
        self._store = store
        self._job = job
        self._holder = holder
        self._clock = clock
        self._lease = lease
        self._held = asyncio.Event()
        self._until = clock()
        self._task: asyncio.Task[None] | None = None

    async def hold(self) -> bool:
        """Take or renew the lease now; whether this process holds the job."""
        now = self._clock()
        until = now + self._lease
        try:
            held = await self._store.hold_job(self._job, self._holder, now, until)
        except Exception as error:  # the lease lapses unless the next attempt works
            log.warning("could not renew the lease of the job %s: %s", self._job, error)
            held = False
        if held != self._held.is_set():
            log.info("%s the job %s", "took" if held else "lost", self._job)
        if held:
            self._until = until
            self._held.set()
        else:
            self._held.clear()
        return held

    @property
    def held(self) -> bool:
        """Whether this process holds the job, as its last renewal left it: until that lease
        ends, no other process can have taken the job."""
        return self._held.is_set() and self._clock() < self._until

    async def turn(self) -> None:
        """Resolves once this process holds the job."""
        if not (self.held or await self.hold()):
            await self._held.wait()

    async def start(self) -> None:
        """Take the job if no other process holds it, then keep it or wait for it."""
        await self.hold()
        self._task = asyncio.create_task(self._keep(), name=f"{self._job}-lease")

    async def stop(self) -> None:
        """Stop renewing, and give the job up so that another process takes it at once."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._held.is_set():
            self._held.clear()
            with contextlib.suppress(Exception):  # else its lease ends by itself
                await self._store.release_job(self._job, self._holder)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            await self.hold()


class Periodic:
    """Runs a job every `every` seconds in the background until stopped; 0 never runs it. With
    a `lease`, only while this process holds it."""

    def __init__(
        self,
        job: Callable[[], Awaitable[object]],
        every: float,
        *,
        at_start: bool,
        name: str,
        lease: JobLease | None = None,
    ) -> None:
        self._job = job
        self._every = every
        self._at_start = at_start
        self._name = name
        self._lease = lease
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._every > 0:
            if self._lease is not None:
                await self._lease.start()
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._lease is not None:
            await self._lease.stop()

    async def _run(self) -> None:
        if not self._at_start:
            await asyncio.sleep(self._every)
        while True:
            if self._lease is not None:
                await self._lease.turn()
            try:
                await self._job()
            except Exception:  # the next round tries again; the server keeps serving
                log.exception("%s failed", self._name)
            await asyncio.sleep(self._every)
