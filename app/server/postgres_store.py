"""The PostgreSQL delivery store: any number of `baton serve` processes on one database
(app/server/store.py has the contract, app/server/postgres_schema.py the schema).

How the contract holds across processes:

- **Durable before acknowledged.** `add` returns once its transaction committed with the
  server's `synchronous_commit` (on by default: the commit is on disk). The adds arriving while a
  transaction commits go into the next one (group commit): one commit serves many deliveries.
- **Duplicates.** `delivery_id` is unique; an insert `ON CONFLICT DO NOTHING` waits for a
  concurrent insert of the same id in another process and then does nothing.
- **One delivery of an issue at a time, in order.** Every claim (`claim`,
  `finish_and_claim_next`, `claim_following`) runs in a transaction that first takes the claim
  lock, a transaction-level advisory lock (`pg_advisory_xact_lock`) keyed by the schema. Claims
  are thus taken one after the other, and in READ COMMITTED each statement after the lock sees
  every earlier claim committed. Row locks (`FOR UPDATE SKIP LOCKED`) would not do on their own:
  the head of an issue's queue is a property of a set of rows, and a delivery committed late by
  another process can carry an earlier sequence number than one already running, so a claim
  also requires that no delivery of the issue holds a live lease. That check is only sound
  against claims that cannot interleave. A claim is a few index seeks (about a millisecond), so
  the lock is short; adds, finishes and plan steps never take it.
- **Leases.** A claimed delivery is `running` until its lease ends, and its worker renews it
  while at work; the claim of a process that died expires and another process claims the
  delivery again, resuming its journaled plan. `release_running` does nothing here: a process
  starting cannot tell its own crashed claims from those of processes still at work.
- **Jobs run once per deployment.** `hold_job` is one upsert: the row of a job is taken over only
  when its holder's lease ended (`ON CONFLICT … DO UPDATE … WHERE`), and concurrent upserts of
  one row wait for each other, so one process holds a job at a time.
- **Configuration changes.** `announce_config_change` sends a notification (`pg_notify`) on a
  channel named after the schema; each process listens on a connection of its own
  (`config_changes`), outside the pool. Notifications are delivered once committed, to every
  listener, within milliseconds; a listener that lost its connection cannot know what it missed,
  so it says None (anything may have changed) once it is listening again.
- **Claims are not fsynced.** A claim commits with `synchronous_commit = off`: losing one in a
  crash of the database only makes its delivery claimable again, and before the first GitHub
  write the pipeline journals a plan, whose synchronous commit writes the claim's record to disk
  first (the log is written in order).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from app.server.postgres_schema import migrate
from app.server.store import (
    COUNTED,
    Claim,
    Delivery,
    DeliveryStatus,
    Joins,
    NewDelivery,
    NewerSchema,
    StoreUnavailable,
    following_run,
    redacted,
)

log = logging.getLogger(__name__)

Connection = psycopg.AsyncConnection[DictRow]

_COLUMNS = (
    "d.delivery_id, d.event, d.action, d.issue_key, d.body, d.received_at, d.status,"
    " d.attempts, d.reschedules, d.not_before, d.lease_until, d.last_error, d.plan, d.plan_step"
)

_INSERT = (
    "INSERT INTO deliveries (delivery_id, event, action, issue_key, body, received_at)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (delivery_id) DO NOTHING RETURNING seq"
)

_CLAIM_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.claims', 0))"

# Runnable (as `Delivery.runnable`), and no delivery of its issue holding a live lease.
_RUNNABLE = """
(
    (d.status = 'pending' AND (d.not_before IS NULL OR d.not_before <= %(now)s))
    OR (d.status = 'running' AND d.lease_until <= %(now)s)
)
AND NOT EXISTS (
    SELECT 1 FROM deliveries AS r
    WHERE r.issue_key = d.issue_key AND r.status = 'running' AND r.lease_until > %(now)s
)
"""

# The first unfinished delivery of each issue, and those without an issue, if runnable. The
# heads of the issues' queues are found by skipping from one issue key to the next in the
# partial index (a seek per issue), so a claim costs the same with a backlog as with none.
_CLAIMABLE = f"""
WITH RECURSIVE issues(issue_key) AS (
    SELECT min(issue_key) FROM deliveries WHERE status IN ('pending', 'running')
    UNION ALL
    SELECT (
        SELECT min(issue_key) FROM deliveries
        WHERE status IN ('pending', 'running') AND issue_key > issues.issue_key
    ) FROM issues WHERE issues.issue_key IS NOT NULL
),
heads(seq) AS (
    SELECT (
        SELECT min(seq) FROM deliveries
        WHERE status IN ('pending', 'running') AND issue_key = issues.issue_key
    ) FROM issues WHERE issues.issue_key IS NOT NULL
    UNION ALL
    SELECT seq FROM deliveries WHERE issue_key IS NULL AND status IN ('pending', 'running')
)
SELECT {_COLUMNS} FROM heads JOIN deliveries AS d ON d.seq = heads.seq
WHERE {_RUNNABLE}
ORDER BY d.seq
LIMIT %(limit)s
"""

# A rescheduled delivery falls due, or a lease ends (its process may have died).
_NEXT_DUE = """
SELECT least(
    (SELECT min(not_before) FROM deliveries WHERE status = 'pending' AND not_before > %(now)s),
    (SELECT min(lease_until) FROM deliveries WHERE status = 'running' AND lease_until > %(now)s)
) AS next_due
"""

# The first unfinished delivery of one issue, if it is runnable (as in _CLAIMABLE).
_HEAD_OF_ISSUE = f"""
SELECT {_COLUMNS} FROM deliveries AS d
WHERE d.seq = (
    SELECT min(seq) FROM deliveries
    WHERE status IN ('pending', 'running') AND issue_key = %(issue_key)s
)
AND {_RUNNABLE}
"""

# The unfinished deliveries queued behind one (of the same issue), in order.
_FOLLOWING = f"""
SELECT {_COLUMNS} FROM deliveries AS d
WHERE d.status IN ('pending', 'running') AND d.issue_key = %(issue_key)s
  AND d.seq > (SELECT seq FROM deliveries WHERE delivery_id = %(head)s)
ORDER BY d.seq
LIMIT %(limit)s
"""

_MARK_RUNNING = (
    "UPDATE deliveries SET status = 'running', lease_until = %s WHERE delivery_id = ANY(%s)"
)
_FINISH = (
    "UPDATE deliveries SET status = 'done', lease_until = NULL, last_error = NULL"
    " WHERE delivery_id = ANY(%s)"
)
_PRUNE = (
    "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries"
    " WHERE status = 'done' AND received_at < %s LIMIT %s)"
)
_RENEW = "UPDATE deliveries SET lease_until = %s WHERE delivery_id = ANY(%s) AND status = 'running'"
_HOLD_JOB = """
INSERT INTO job_leases AS held (job, holder, until) VALUES (%(job)s, %(holder)s, %(until)s)
ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, until = excluded.until
WHERE held.holder = excluded.holder OR held.until <= %(now)s
RETURNING holder
"""
# Channel names are at most 63 bytes: the schema's is hashed.
_CONFIG_CHANNEL = "'baton_config_' || md5(current_schema())"
_LISTEN_AGAIN = 1.0  # seconds to wait before listening again after losing the connection
_LISTENER_CHECK = 30.0  # seconds of silence after which the listening connection is checked
_RETRY = (
    "UPDATE deliveries SET status = 'pending', attempts = 0, reschedules = 0, not_before = NULL"
    " WHERE status = 'failed'"
)


class PostgresDeliveryStore:
    """A pool of connections (psycopg's `AsyncConnectionPool`), opened at the first use; the
    schema is migrated as the store is created, so a database that cannot be reached or
    migrated stops `baton serve` at start-up."""

    def __init__(
        self, url: str, *, pool_size: int = 8, wait: timedelta = timedelta(seconds=5)
    ) -> None:
        """`wait`: how long a connection may take to open, and a request to get one from the
        pool, before it fails (the store is then reported unreachable)."""
        seconds = max(int(wait.total_seconds()), 1)
        _migrate_or_refuse(url, seconds)
        self._url = url
        self._connect_timeout = seconds
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            timeout=wait.total_seconds(),
            connection_class=Connection,
            # A connection is checked as it is taken from the pool (one round trip): after a
            # restart or a failover of the database, the pool reconnects instead of failing
            # a write with each connection the server dropped.
            check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True, "row_factory": dict_row, "connect_timeout": seconds},
            name="baton-store",
        )
        self._opening = asyncio.Lock()
        self._opened = False
        self._inbox: list[tuple[NewDelivery, asyncio.Future[bool]]] = []
        self._committer: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        if not self._opened:
            async with self._opening:
                if not self._opened:
                    await self._pool.open()
                    self._opened = True
        async with self._pool.connection() as db:
            yield db

    @contextlib.asynccontextmanager
    async def _claiming(self) -> AsyncIterator[Connection]:
        """A transaction holding the claim lock, committed without waiting for the disk."""
        async with self._connection() as db, db.transaction():
            await db.execute("SET LOCAL synchronous_commit = off")
            await db.execute(_CLAIM_LOCK)
            yield db

    async def add(self, delivery: NewDelivery) -> bool:
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._inbox.append((delivery, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_inbox())
        return await done

    async def _commit_inbox(self) -> None:
        while self._inbox:
            batch, self._inbox = self._inbox, []
            try:
                added = await self._insert([delivery for delivery, _ in batch])
            except psycopg.OperationalError as error:  # the database's, not one delivery's
                for _, done in batch:
                    _settle(done, error=error)
                continue
            except psycopg.Error:  # so one refused delivery does not fail the rest
                for delivery, done in batch:
                    try:
                        [alone] = await self._insert([delivery])
                    except psycopg.Error as error:
                        _settle(done, error=error)
                    else:
                        _settle(done, alone)
                continue
            for (_, done), result in zip(batch, added, strict=True):
                _settle(done, result)

    async def _insert(self, deliveries: list[NewDelivery]) -> list[bool]:
        """Insert in one transaction, the statements sent together (a pipeline); for each,
        whether it was new."""
        rows = [
            (d.delivery_id, d.event, d.action, d.issue_key, d.body, d.received_at)
            for d in deliveries
        ]
        async with self._connection() as db, db.transaction(), db.cursor() as cursor:
            await cursor.executemany(_INSERT, rows, returning=True)
            added = [await cursor.fetchone() is not None]
            while cursor.nextset():
                added.append(await cursor.fetchone() is not None)
        return added

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> Claim:
        async with self._claiming() as db:
            claimable = await _fetch(db, _CLAIMABLE, {"now": now, "limit": limit})
            claimed = await _mark_running(db, claimable, now + lease)
            [due] = await _fetch_rows(db, _NEXT_DUE, {"now": now})
        return Claim(claimed, due["next_due"])

    async def release_running(self) -> int:
        return 0

    async def renew(self, delivery_ids: Sequence[str], until: datetime) -> None:
        if delivery_ids:
            await self._write(_RENEW, until, list(delivery_ids))

    async def finish(self, delivery_id: str) -> None:
        await self._write(_FINISH, [delivery_id])

    async def finish_and_claim_next(
        self, delivery_ids: Sequence[str], issue_key: str, now: datetime, *, lease: timedelta
    ) -> Delivery | None:
        async with self._claiming() as db:
            await db.execute(_FINISH, (list(delivery_ids),))
            head = await _fetch(db, _HEAD_OF_ISSUE, {"issue_key": issue_key, "now": now})
            claimed = await _mark_running(db, head, now + lease)
        return next(iter(claimed), None)

    async def claim_following(
        self, head: Delivery, now: datetime, *, limit: int, lease: timedelta, joins: Joins
    ) -> list[Delivery]:
        if head.issue_key is None or limit <= 0:
            return []
        params = {"head": head.delivery_id, "issue_key": head.issue_key, "limit": limit}
        async with self._claiming() as db:
            behind = await _fetch(db, _FOLLOWING, params)
            run = following_run(behind, now, limit=limit, joins=joins)
            return await _mark_running(db, run, now + lease)

    async def release(self, delivery_ids: Sequence[str]) -> None:
        if delivery_ids:
            await self._write(
                "UPDATE deliveries SET status = 'pending', lease_until = NULL"
                " WHERE delivery_id = ANY(%s) AND status = 'running'",
                list(delivery_ids),
            )

    async def reschedule(
        self, delivery_id: str, *, not_before: datetime, error: str, failed_attempt: bool
    ) -> None:
        counted = "attempts = attempts + 1" if failed_attempt else "reschedules = reschedules + 1"
        await self._write(
            "UPDATE deliveries SET status = 'pending', lease_until = NULL, not_before = %s,"
            " last_error = %s, " + counted + " WHERE delivery_id = %s",
            not_before,
            error,
            delivery_id,
        )

    async def fail(self, delivery_id: str, *, error: str) -> None:
        await self._write(
            "UPDATE deliveries SET status = 'failed', lease_until = NULL, last_error = %s,"
            " attempts = attempts + 1 WHERE delivery_id = %s",
            error,
            delivery_id,
        )

    async def save_plan(self, delivery_id: str, plan: str, covers: Sequence[str] = ()) -> None:
        async with self._connection() as db, db.transaction():
            await db.execute(
                "UPDATE deliveries SET plan = %s, plan_step = 0 WHERE delivery_id = %s",
                (plan, delivery_id),
            )
            if covers:
                await db.execute(_FINISH, (list(covers),))

    async def advance_plan(self, delivery_id: str, step: int) -> None:
        await self._write(
            "UPDATE deliveries SET plan_step = %s WHERE delivery_id = %s", step, delivery_id
        )

    async def get(self, delivery_id: str) -> Delivery | None:
        async with self._connection() as db:
            found = await _fetch(
                db,
                f"SELECT {_COLUMNS} FROM deliveries AS d WHERE delivery_id = %(id)s",
                {"id": delivery_id},
            )
        return next(iter(found), None)

    async def list_deliveries(self, statuses: Collection[DeliveryStatus]) -> list[Delivery]:
        async with self._connection() as db:
            return await _fetch(
                db,
                f"SELECT {_COLUMNS} FROM deliveries AS d"
                " WHERE status = ANY(%(statuses)s) ORDER BY seq",
                {"statuses": [str(status) for status in statuses]},
            )

    async def retry_failed(self, delivery_id: str) -> bool:
        return await self._write(_RETRY + " AND delivery_id = %s", delivery_id) == 1

    async def retry_all_failed(self) -> int:
        return await self._write(_RETRY)

    async def prune(self, before: datetime, *, batch: int = 1000) -> int:
        pruned = 0
        while True:
            deleted = await self._write(_PRUNE, before, batch)
            pruned += deleted
            if deleted < batch:
                return pruned

    async def counts(self) -> dict[DeliveryStatus, int]:
        async with self._connection() as db:
            rows = await _fetch_rows(
                db,
                "SELECT status, count(*) AS count FROM deliveries"
                " WHERE status IN ('pending', 'running', 'failed') GROUP BY status",
                {},
            )
        found = {DeliveryStatus(row["status"]): int(row["count"]) for row in rows}
        return {status: found.get(status, 0) for status in COUNTED}

    async def known_ids(self, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        if not wanted:
            return set()
        async with self._connection() as db:
            rows = await _fetch_rows(
                db,
                "SELECT delivery_id FROM deliveries WHERE delivery_id = ANY(%(ids)s)",
                {"ids": wanted},
            )
        return {row["delivery_id"] for row in rows}

    async def record_write(self, issue_key: str, body: str, over: str) -> None:
        await self._write(
            "INSERT INTO bodies_written (issue_key, body, over) VALUES (%s, %s, %s)"
            " ON CONFLICT (issue_key) DO UPDATE SET body = excluded.body, over = excluded.over",
            issue_key,
            body,
            over,
        )

    async def last_write(self, issue_key: str) -> tuple[str, str] | None:
        async with self._connection() as db:
            rows = await _fetch_rows(
                db,
                "SELECT body, over FROM bodies_written WHERE issue_key = %(key)s",
                {"key": issue_key},
            )
        return next(((str(row["body"]), str(row["over"])) for row in rows), None)

    async def hold_job(self, job: str, holder: str, now: datetime, until: datetime) -> bool:
        params = {"job": job, "holder": holder, "until": until, "now": now}
        async with self._connection() as db:
            return bool(await _fetch_rows(db, _HOLD_JOB, params))

    async def release_job(self, job: str, holder: str) -> None:
        await self._write("DELETE FROM job_leases WHERE job = %s AND holder = %s", job, holder)

    async def announce_config_change(self, repo: str) -> None:
        await self._write(f"SELECT pg_notify({_CONFIG_CHANNEL}, %s)", repo)

    async def config_changes(self) -> AsyncIterator[str | None]:
        listened = False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=self._connect_timeout
                ) as db:
                    cursor = await db.execute(f"SELECT {_CONFIG_CHANNEL}")
                    [(channel,)] = await cursor.fetchall()
                    await db.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    if listened:
                        yield None  # what was announced while not listening is not known
                    listened = True
                    while True:
                        async for notice in db.notifies(timeout=_LISTENER_CHECK):
                            yield notice.payload
                        await db.execute("SELECT 1")  # a silent connection may be a dead one
            except psycopg.Error as error:
                log.warning("not told of configuration changes, listening again: %s", error)
                listened = True
                await asyncio.sleep(_LISTEN_AGAIN)

    async def close(self) -> None:
        if self._committer is not None:
            await self._committer
        if self._opened:
            await self._pool.close()
            self._opened = False

    async def _write(self, sql: LiteralString, *params: Any) -> int:
        async with self._connection() as db:
            cursor = await db.execute(sql, params)
            return cursor.rowcount


def _migrate_or_refuse(url: str, connect_timeout: int) -> None:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout) as db:
            migrate(db)
    except (psycopg.Error, NewerSchema) as error:
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        raise StoreUnavailable(
            f"cannot open the delivery store {redacted(url)}: {reason}"
        ) from None


def _settle(
    done: asyncio.Future[bool], result: bool = False, *, error: Exception | None = None
) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(result)
    else:
        done.set_exception(error)


async def _fetch_rows(db: Connection, sql: LiteralString, params: dict[str, Any]) -> list[DictRow]:
    cursor = await db.execute(sql, params)
    return await cursor.fetchall()


async def _fetch(db: Connection, sql: LiteralString, params: dict[str, Any]) -> list[Delivery]:
    return [Delivery.from_row(row) for row in await _fetch_rows(db, sql, params)]


async def _mark_running(
    db: Connection, deliveries: list[Delivery], lease_until: datetime
) -> list[Delivery]:
    if deliveries:
        await db.execute(_MARK_RUNNING, (lease_until, [d.delivery_id for d in deliveries]))
    return [delivery.running_until(lease_until) for delivery in deliveries]
