"""The background worker: hands stored deliveries to `process`, one issue at a time.

The store decides what is runnable (per-issue order, `not_before`); the worker keeps up to
`concurrency` issues in flight and sleeps until it is notified, a delivery finishes, or the
earliest rescheduled delivery becomes due. Nothing sleeps inside a task.

Deliveries queued behind each other in one issue that `joins` accepts are handed to `process`
together, as a run: a burst of commands on one incident is read once and written once.

A claim is a lease (`LEASE`), renewed every third of it while the delivery is worked on: when a
process dies, the deliveries it held become claimable by another process within one lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from app.server.health import Health, Trouble
from app.server.metrics import Metrics
from app.server.store import Delivery, DeliveryStore, Joins

log = logging.getLogger(__name__)

# Handles a run of deliveries of one issue, in order, and returns how many of them (from the
# first, at least one) it handled; the others are put back. Raising concerns the first alone.
Process = Callable[[Sequence[Delivery]], Awaitable[int]]
Clock = Callable[[], datetime]

_ERROR_TEXT_LIMIT = 2000
LEASE = timedelta(seconds=30)  # how long the claim of a process that died holds its delivery


class Reschedule(Exception):
    """Raised by `process` to run the delivery again later (rate limited, GitHub asked to wait).

    It does not use up the delivery's attempts; it has its own, generous, cap.
    """

    def __init__(self, after: timedelta, reason: str) -> None:
        super().__init__(reason)
        self.after = after
        self.reason = reason


def utc_now() -> datetime:
    return datetime.now(UTC)


def exponential_backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … after each failed attempt, capped at five minutes."""
    return min(timedelta(seconds=2**attempts), timedelta(minutes=5))


def store_backoff(failures: int) -> timedelta:
    """0.5 s, 1 s, 2 s … after each failure of the store in a row, capped at 30 s: soon back
    at work once a lock is gone, without hammering a store that stays broken."""
    return min(timedelta(seconds=0.5 * 2 ** (failures - 1)), timedelta(seconds=30))


class Worker:
    def __init__(
        self,
        store: DeliveryStore,
        process: Process,
        *,
        concurrency: int = 8,
        clock: Clock = utc_now,
        max_attempts: int = 8,
        max_reschedules: int = 100,
        backoff: Callable[[int], timedelta] = exponential_backoff,
        lease: timedelta = LEASE,
        metrics: Metrics | None = None,
        joins: Joins | None = None,
        longest_run: int = 20,
        retry_store: Callable[[int], timedelta] = store_backoff,
        idle_poll: timedelta = timedelta(seconds=10),
    ) -> None:
        self._store = store
        self._process = process
        self._joins = joins
        self._longest_run = longest_run
        self._concurrency = concurrency
        self._clock = clock
        self._max_attempts = max_attempts
        self._max_reschedules = max_reschedules
        self._backoff = backoff
        self._lease = lease
        self._metrics = metrics
        self._retry_store = retry_store
        self._idle_poll = idle_poll.total_seconds()
        self._claiming = Health("claiming deliveries", clock)
        self._released_at_start = False
        self._unrecorded: set[str] = set()  # handled or not, their outcome could not be stored
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._runs: dict[str, list[str]] = {}  # first delivery of a task -> the run it works on
        self._issues_in_flight: set[str] = set()  # at most one delivery per issue runs
        self._wake = asyncio.Event()
        self._quiet = asyncio.Event()
        self._stopping = False
        self._stopped = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._renewal_task: asyncio.Task[None] | None = None

    @property
    def trouble(self) -> Trouble | None:
        """Why the worker cannot claim deliveries now, if it cannot."""
        return self._claiming.trouble

    def start(self) -> None:
        self._stopping = False
        self._stopped.clear()
        self._released_at_start = False
        self._loop_task = asyncio.create_task(self._run(), name="baton-worker")
        self._renewal_task = asyncio.create_task(self._renew_leases(), name="baton-leases")

    async def stop(self) -> None:
        """Stop claiming work and wait for the deliveries in flight to finish."""
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values())
        if self._renewal_task is not None:
            self._renewal_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal_task
            self._renewal_task = None

    def notify(self, issue_key: str | None = None) -> None:
        """A delivery was stored (for `issue_key`): look for work now.

        Not while a delivery of the same issue is running here: the new one waits for it in
        any case, and its end looks for work again. Under a burst on busy issues this spares
        the store a claim per delivery."""
        self._quiet.clear()
        if issue_key is None or issue_key not in self._issues_in_flight:
            self._wake.set()

    async def idle(self) -> None:
        """Resolves once nothing is runnable and nothing is running."""
        await self._quiet.wait()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._put_back()
                claimed, next_due = await self._claim()
            except Exception as error:
                await self._back_off(error)
                continue
            self._claiming.worked()
            if not claimed and not self._in_flight and not self._wake.is_set():
                self._quiet.set()
            await self._sleep(self._seconds_until(next_due))
        self._quiet.set()

    async def _back_off(self, error: Exception) -> None:
        """The store failed: wait longer after each failure in a row, however often the
        worker is notified meanwhile, and try again."""
        trouble = self._claiming.failed(error)
        with contextlib.suppress(TimeoutError):
            delay = self._retry_store(trouble.failures).total_seconds()
            await asyncio.wait_for(self._stopped.wait(), delay)

    async def _put_back(self) -> None:
        """Make claimable again what no one is working on but is marked running: at start,
        all of it (this process's crash left it); later, the deliveries whose outcome could
        not be recorded, rather than waiting for their leases to end."""
        if not self._released_at_start:
            await self._store.release_running()
            self._released_at_start = True
            self._unrecorded.clear()
        if self._unrecorded:
            put_back = list(self._unrecorded)
            await self._store.release(put_back)
            self._unrecorded.difference_update(put_back)

    async def _claim(self) -> tuple[list[Delivery], datetime | None]:
        """Start the runnable deliveries there is room for; the next time one falls due, as
        the same transaction saw it (a delivery due in between is either claimed or counted).
        With no room, none: a delivery in flight wakes the loop when it ends."""
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return [], None
        claim = await self._store.claim(self._clock(), limit=free, lease=self._lease)
        held = self._held()  # a lease of this process's that ran out (a clock that jumped)
        fresh = [d for d in claim.deliveries if d.delivery_id not in held]
        if fresh:
            self._quiet.clear()  # found without a notice
        for delivery in fresh:
            task = asyncio.create_task(self._handle(delivery), name=delivery.delivery_id)
            self._in_flight[delivery.delivery_id] = task
            self._runs[delivery.delivery_id] = [delivery.delivery_id]
            if delivery.issue_key is not None:
                self._issues_in_flight.add(delivery.issue_key)
        return fresh, claim.next_due

    def _held(self) -> set[str]:
        return {delivery_id for run in self._runs.values() for delivery_id in run}

    async def _renew_leases(self) -> None:
        """Every third of a lease, extend the leases of the deliveries being worked on. A
        renewal that fails is tried again at the next; meanwhile the leases hold."""
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                await self._store.renew(sorted(self._held()), self._clock() + self._lease)
            except Exception as error:
                log.warning("could not renew the leases of the deliveries in flight: %s", error)

    def _seconds_until(self, moment: datetime | None) -> float:
        """Until `moment`, or the next look for work that no notice announces (a delivery
        retried by `baton deliveries retry` in another process), whichever comes first."""
        if moment is None:
            return self._idle_poll
        return min(max((moment - self._clock()).total_seconds(), 0.0), self._idle_poll)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _handle(self, first: Delivery) -> None:
        """Process `first` (with those that join it), then, while its issue has more waiting,
        the next ones in turn."""
        delivery: Delivery | None = first
        try:
            while delivery is not None:
                current, started = delivery, time.perf_counter()
                self._runs[first.delivery_id] = [current.delivery_id]
                try:
                    run = [current, *await self._following(current)]
                    self._runs[first.delivery_id] = [d.delivery_id for d in run]
                    delivery = await self._settle(run)
                except Exception as error:
                    # The store fails: the delivery runs again once it works.
                    log.warning(
                        "could not record the outcome of delivery %s: %s",
                        current.delivery_id,
                        error,
                    )
                    self._claiming.failed(error)
                    self._unrecorded.add(current.delivery_id)
                    delivery = None
                finally:
                    if self._metrics is not None:
                        self._metrics.observe_processing(time.perf_counter() - started)
        finally:
            del self._in_flight[first.delivery_id]
            del self._runs[first.delivery_id]
            if first.issue_key is not None:
                self._issues_in_flight.discard(first.issue_key)
            self.notify()

    async def _following(self, head: Delivery) -> list[Delivery]:
        joins = self._joins
        if joins is None or self._stopping or not joins(head.event, head.action):
            return []
        return await self._store.claim_following(
            head, self._clock(), limit=self._longest_run - 1, lease=self._lease, joins=joins
        )

    async def _settle(self, run: list[Delivery]) -> Delivery | None:
        """Process a run and record how it went; the next delivery of the same issue when it
        is runnable (claimed together with this run's end), else None."""
        head = run[0]
        try:
            handled = await self._process(run)
        except Exception as error:
            await self._store.release([d.delivery_id for d in run[1:]])
            if isinstance(error, Reschedule):
                await self._postpone(head, error)
            else:
                await self._retry_or_fail(head, error)
            return None
        handled = max(handled, 1)
        done, left = run[:handled], run[handled:]
        if self._metrics is not None:
            for delivery in done:
                self._metrics.delivery_processed(delivery.event)
        await self._store.release([d.delivery_id for d in left])
        ids = [d.delivery_id for d in done]
        if head.issue_key is None or self._stopping:
            for delivery_id in ids:
                await self._store.finish(delivery_id)
            return None
        return await self._store.finish_and_claim_next(
            ids, head.issue_key, self._clock(), lease=self._lease
        )

    async def _postpone(self, delivery: Delivery, wait: Reschedule) -> None:
        if delivery.reschedules + 1 >= self._max_reschedules:
            await self._give_up(delivery, f"rescheduled too often; last reason: {wait.reason}")
            return
        await self._store.reschedule(
            delivery.delivery_id,
            not_before=self._clock() + wait.after,
            error=wait.reason,
            failed_attempt=False,
        )

    async def _retry_or_fail(self, delivery: Delivery, error: Exception) -> None:
        text = f"{type(error).__name__}: {error}"[:_ERROR_TEXT_LIMIT]
        attempts = delivery.attempts + 1
        log.warning(
            "delivery %s (%s) failed, attempt %d of %d",
            delivery.delivery_id,
            delivery.event,
            attempts,
            self._max_attempts,
            exc_info=error,
        )
        if attempts >= self._max_attempts:
            await self._give_up(delivery, text)
            return
        await self._store.reschedule(
            delivery.delivery_id,
            not_before=self._clock() + self._backoff(attempts),
            error=text,
            failed_attempt=True,
        )

    async def _give_up(self, delivery: Delivery, error: str) -> None:
        await self._store.fail(delivery.delivery_id, error=error)
        if self._metrics is not None:
            self._metrics.delivery_failed(delivery.event)
