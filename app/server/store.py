"""The durable delivery store's contract: every acknowledged webhook delivery is kept until done.

`DeliveryStore` is what the web layer, the worker, the pipeline and the jobs use; it has two
implementations: `SqliteDeliveryStore` (app/server/sqlite_store.py), one process on a file, and
`PostgresDeliveryStore` (app/server/postgres_store.py), any number of processes on one database.
`open_store` (app/server/databases.py) picks one from `BATON_DATABASE_URL`. Both are held to the
same rules by one test suite (tests/server/test_store_contract.py).

Order within an issue: a delivery is claimable only when no earlier unfinished (`pending` or
`running`) delivery has the same issue key. A `failed` delivery does not block its issue.

Leases: a claimed delivery is `running` until its lease ends, and its worker renews the lease
while it works on it (`renew`), so a short lease bounds how long the work of a process that died
waits. Jobs that run once per deployment (the sweep, the redelivery, the pruning) are held by one
process at a time through a lease of their own (`hold_job`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import msgspec

# Whether a delivery (event, action) may be handled in one run with the one before it.
Joins = Callable[[str, str | None], bool]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# The statuses `counts` reports (done ones are history).
COUNTED = (DeliveryStatus.PENDING, DeliveryStatus.RUNNING, DeliveryStatus.FAILED)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A verified delivery, as the web layer hands it to the store."""

    delivery_id: str
    event: str
    action: str | None
    issue_key: str | None
    body: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """A stored delivery, as the worker hands it to `process`."""

    delivery_id: str
    event: str
    action: str | None
    issue_key: str | None
    body: bytes
    received_at: datetime
    status: DeliveryStatus
    attempts: int
    reschedules: int
    not_before: datetime | None
    lease_until: datetime | None
    last_error: str | None
    plan: str | None
    plan_step: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Delivery:
        """A row of either database, by column name: times as `datetime` or ISO 8601 text."""
        return msgspec.convert(row, cls)

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = msgspec.json.decode(self.body)  # as json.loads, 3 times faster
        return payload

    def runnable(self, now: datetime) -> bool:
        """Pending and due, or running with an expired lease (its worker died)."""
        if self.status == DeliveryStatus.PENDING:
            return self.not_before is None or self.not_before <= now
        return (
            self.status == DeliveryStatus.RUNNING
            and self.lease_until is not None
            and self.lease_until <= now
        )

    def running_until(self, lease_until: datetime) -> Delivery:
        """As it is once claimed."""
        return replace(self, status=DeliveryStatus.RUNNING, lease_until=lease_until)


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim took, and the earliest time after it at which a waiting delivery becomes
    runnable: both seen at the same moment, so no delivery falls due between the two."""

    deliveries: list[Delivery]
    next_due: datetime | None


class StoreUnavailable(Exception):
    """The store cannot be opened; the words say why and what to do."""


def redacted(url: str) -> str:
    """The URL as it may be shown: its password, if any, replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


class NewerSchema(Exception):
    """The database was migrated by a newer Baton than this one."""

    def __init__(self, version: int, known: int) -> None:
        super().__init__(
            f"its schema version is {version}, written by a newer Baton"
            f" (this one knows versions up to {known}); run that Baton, or a newer one"
        )


class DeliveryStore(Protocol):
    async def add(self, delivery: NewDelivery) -> bool:
        """Store durably before returning; False when the delivery id is already stored."""
        ...

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> Claim:
        """Atomically mark up to `limit` runnable deliveries `running` until `now + lease`, and
        find, in the same transaction, the earliest time after `now` at which a waiting
        delivery becomes runnable (a rescheduled one falls due, or a lease ends)."""
        ...

    async def renew(self, delivery_ids: Sequence[str], until: datetime) -> None:
        """Extend to `until` the leases of these deliveries, those still `running`: their
        worker is still at work on them."""
        ...

    async def release_running(self) -> int:
        """Put every `running` delivery back to `pending`: start-up after a crash.

        Right for a single process; a store shared by replicas makes this a no-op and lets
        expired leases return crashed work instead."""
        ...

    async def finish(self, delivery_id: str) -> None: ...

    async def finish_and_claim_next(
        self, delivery_ids: Sequence[str], issue_key: str, now: datetime, *, lease: timedelta
    ) -> Delivery | None:
        """Finish deliveries of one issue and, in the same transaction, claim the next one of
        that issue if it is runnable: a busy issue's deliveries follow each other without a
        round trip through the worker's loop."""
        ...

    async def claim_following(
        self, head: Delivery, now: datetime, *, limit: int, lease: timedelta, joins: Joins
    ) -> list[Delivery]:
        """Claim up to `limit` deliveries queued right behind `head` (claimed) in its issue:
        the unbroken line of runnable ones that `joins` accepts, so that they can be handled
        together with it."""
        ...

    async def release(self, delivery_ids: Sequence[str]) -> None:
        """Put claimed deliveries that were not handled back to `pending`, as they were."""
        ...

    async def reschedule(
        self, delivery_id: str, *, not_before: datetime, error: str, failed_attempt: bool
    ) -> None:
        """Back to `pending` until `not_before`, counting a failed attempt or a reschedule."""
        ...

    async def fail(self, delivery_id: str, *, error: str) -> None:
        """Out of attempts: kept as `failed` until retried."""
        ...

    async def save_plan(self, delivery_id: str, plan: str, covers: Sequence[str] = ()) -> None:
        """Journal the plan of a delivery; `covers` are deliveries of the same run whose effects
        the plan holds too: they are done from then on, whatever becomes of the plan."""
        ...

    async def advance_plan(self, delivery_id: str, step: int) -> None: ...

    async def get(self, delivery_id: str) -> Delivery | None: ...

    async def list_deliveries(self, statuses: Collection[DeliveryStatus]) -> list[Delivery]:
        """The deliveries in one of `statuses`, oldest first."""
        ...

    async def retry_failed(self, delivery_id: str) -> bool:
        """A failed delivery becomes pending again with fresh attempts; False if not failed."""
        ...

    async def retry_all_failed(self) -> int:
        """Every failed delivery becomes pending again with fresh attempts; how many did."""
        ...

    async def prune(self, before: datetime, *, batch: int = 1000) -> int:
        """Delete the done deliveries received before `before`, with their payloads, `batch`
        at a time (a write waits for one batch at most); how many were deleted."""
        ...

    async def counts(self) -> dict[DeliveryStatus, int]:
        """How many deliveries are pending, running and failed (done ones are history)."""
        ...

    async def known_ids(self, ids: Iterable[str]) -> set[str]: ...

    async def record_write(self, issue_key: str, body: str, over: str) -> None:
        """Baton wrote `body` over the body whose digest is `over` (only the last is kept)."""
        ...

    async def last_write(self, issue_key: str) -> tuple[str, str] | None:
        """(body, over) of the last `record_write` of the issue."""
        ...

    async def hold_job(self, job: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take or keep the lease of a job run once per deployment, until `until`: True when
        `holder` holds it now (it held it already, or no lease of another holder lasts past
        `now`), False when another holder does."""
        ...

    async def release_job(self, job: str, holder: str) -> None:
        """Give up the job's lease, if `holder` holds it: another process may take it at once."""
        ...

    async def announce_config_change(self, repo: str) -> None:
        """Tell every process sharing the store that `repo`'s configuration file changed."""
        ...

    def config_changes(self) -> AsyncIterator[str | None]:
        """The repositories whose configuration change was announced, as they are, for as long
        as it is iterated; None when announcements may have been missed (anything may have
        changed)."""
        ...

    async def close(self) -> None: ...


def following_run(
    behind: Iterable[Delivery], now: datetime, *, limit: int, joins: Joins
) -> list[Delivery]:
    """Of the unfinished deliveries queued behind a run's head, in order: the unbroken line of
    runnable ones that `joins` accepts, at most `limit`."""
    run: list[Delivery] = []
    for delivery in behind:
        if len(run) >= limit or not (
            delivery.runnable(now) and joins(delivery.event, delivery.action)
        ):
            break
        run.append(delivery)
    return run
