"""The SQLite delivery store: one `baton serve` process on one file (app/server/store.py has the
contract, app/server/sqlite_schema.py the schema).

Claiming work is atomic: one transaction (`BEGIN IMMEDIATE`, so one writer at a time) marks the
deliveries `running` with a lease. A lock file keeps a second server off the same database, so
the jobs run once per deployment have one holder by construction; their leases are kept all the
same, as the contract says, and a configuration change has no other process to reach.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from app.server.sqlite_schema import migrate
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
)

log = logging.getLogger(__name__)

# Columns of a Delivery, from `deliveries AS d`.
_COLUMNS = (
    "d.delivery_id, d.event, d.action, d.issue_key,"
    " (SELECT body FROM payloads WHERE payloads.seq = d.seq) AS body, d.received_at, d.status,"
    " d.attempts, d.reschedules, d.not_before, d.lease_until, d.last_error, d.plan, d.plan_step"
)

_INSERT = (
    "INSERT INTO deliveries (delivery_id, event, action, issue_key, received_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING"
)
_INSERT_BODY = "INSERT INTO payloads (seq, body) VALUES (?, ?)"

# Runnable (as `Delivery.runnable`), and no delivery of its issue holding a live lease.
_RUNNABLE = """
(
    (d.status = 'pending' AND (d.not_before IS NULL OR d.not_before <= :now))
    OR (d.status = 'running' AND d.lease_until <= :now)
)
AND NOT EXISTS (
    SELECT 1 FROM deliveries AS r INDEXED BY deliveries_unfinished_by_issue
    WHERE r.issue_key = d.issue_key AND r.status IN ('pending', 'running')
      AND r.status = 'running' AND r.lease_until > :now
)
"""

# Claimable: the first unfinished delivery of its issue (or one without an issue), if it is
# runnable. The heads of the issues' queues are found by skipping from one issue key to the next
# in the partial index (a seek per issue), so a claim costs the same with a backlog of thousands
# as with none.
_CLAIMABLE = f"""
WITH RECURSIVE issues(issue_key) AS (
    SELECT min(issue_key) FROM deliveries INDEXED BY deliveries_unfinished_by_issue
    WHERE status IN ('pending', 'running')
    UNION ALL
    SELECT (
        SELECT min(issue_key) FROM deliveries INDEXED BY deliveries_unfinished_by_issue
        WHERE status IN ('pending', 'running') AND issue_key > issues.issue_key
    ) FROM issues WHERE issues.issue_key IS NOT NULL
),
heads(seq) AS (
    SELECT (
        SELECT min(seq) FROM deliveries INDEXED BY deliveries_unfinished_by_issue
        WHERE status IN ('pending', 'running') AND issue_key = issues.issue_key
    ) FROM issues WHERE issues.issue_key IS NOT NULL
    UNION ALL
    SELECT seq FROM deliveries INDEXED BY deliveries_unfinished_without_issue
    WHERE issue_key IS NULL AND status IN ('pending', 'running')
)
SELECT {_COLUMNS} FROM heads JOIN deliveries AS d ON d.seq = heads.seq
WHERE {_RUNNABLE}
ORDER BY d.seq
LIMIT :limit
"""


# A rescheduled delivery falls due, or a lease ends.
_NEXT_DUE = """
SELECT min(moment) FROM (
    SELECT min(not_before) AS moment FROM deliveries INDEXED BY deliveries_by_status
    WHERE status = 'pending' AND not_before > :now
    UNION ALL
    SELECT min(lease_until) FROM deliveries INDEXED BY deliveries_running
    WHERE status = 'running' AND lease_until > :now
)
"""

# The first unfinished delivery of one issue, if it is runnable (as in _CLAIMABLE).
_HEAD_OF_ISSUE = f"""
SELECT {_COLUMNS} FROM deliveries AS d
WHERE d.seq = (
    SELECT min(seq) FROM deliveries INDEXED BY deliveries_unfinished_by_issue
    WHERE status IN ('pending', 'running') AND issue_key = :issue_key
)
AND {_RUNNABLE}
"""

# The unfinished deliveries queued behind one (of the same issue), in order.
_FOLLOWING = f"""
SELECT {_COLUMNS} FROM deliveries AS d INDEXED BY deliveries_unfinished_by_issue
WHERE d.status IN ('pending', 'running') AND d.issue_key = :issue_key
  AND d.seq > (SELECT seq FROM deliveries WHERE delivery_id = :head)
ORDER BY d.seq
LIMIT :limit
"""

_FINISH = (
    "UPDATE deliveries SET status = 'done', lease_until = NULL, last_error = NULL"
    " WHERE delivery_id = ?"
)
# Old done deliveries, through the index kept for this alone.
_PRUNABLE = (
    "SELECT seq FROM deliveries INDEXED BY deliveries_done_by_age"
    " WHERE status = 'done' AND received_at < ? LIMIT ?"
)
_SEQS = "(SELECT value FROM json_each(?))"
_MARK_RUNNING = "UPDATE deliveries SET status = 'running', lease_until = ? WHERE delivery_id = ?"
_HOLD_JOB = """
INSERT INTO job_leases AS held (job, holder, until) VALUES (?, ?, ?)
ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, until = excluded.until
WHERE held.holder = excluded.holder OR held.until <= ?
"""
_RETRY = (
    "UPDATE deliveries SET status = 'pending', attempts = 0, reschedules = 0, not_before = NULL"
    " WHERE status = 'failed'"
)


def _run_all(works: list[Callable[[], Any]]) -> list[Any]:
    return [work() for work in works]


# Errors of the database as a whole rather than of one write: locked by another process,
# read-only, out of space, unreadable.
_STORE_ERRORS = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_NOTADB,
    }
)


def _of_the_whole_store(error: Exception) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _STORE_ERRORS  # the primary code


def _fail_all(batch: list[tuple[Callable[[], Any], asyncio.Future[Any]]], error: Exception) -> None:
    for _, done in batch:
        if not done.done():
            done.set_exception(error)


def _to_text(moment: datetime) -> str:
    # One fixed format, so that text comparison in SQL is time comparison.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _from_text(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _deliveries(cursor: sqlite3.Cursor) -> list[Delivery]:
    names = [column[0] for column in cursor.description]
    return [Delivery.from_row(dict(zip(names, row, strict=True))) for row in cursor]


def _lock_exclusively(path: str) -> int | None:
    """Hold `<path>.lock` for as long as the store is open: a second process on the same
    database would claim its deliveries too and post every reply twice. The operating system
    releases the lock when the process ends, however it ends."""
    if path in {"", ":memory:"}:
        return None
    lock_path = f"{path}.lock"
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StoreUnavailable(
            f"cannot create {lock_path}: {error.strerror}; check that BATON_DATABASE_URL names "
            "a folder that exists and that Baton may write in"
        ) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise StoreUnavailable(
            f"another baton process is using the delivery store {path} (it holds {lock_path});"
            " stop it, or give this one its own BATON_DATABASE_URL: several processes on one"
            " database are not supported yet"
        ) from None
    return descriptor


def _create_privately(path: str) -> None:
    """Create the database file readable by its owner alone: it holds every payload, issue
    texts of private repositories among them. SQLite gives the -wal and -shm files the mode of
    the database file."""
    if path in {"", ":memory:"}:
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        _warn_if_shared(path)


def _warn_if_shared(path: str) -> None:
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & 0o077:
        log.warning(
            "the delivery store %s can be read by other users (mode %04o): chmod 600 %s",
            path,
            mode,
            path,
        )


def _connect(path: str, busy_timeout: timedelta) -> sqlite3.Connection:
    _create_privately(path)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    # How long a write waits for another connection's lock before it fails.
    db.execute(f"PRAGMA busy_timeout={busy_timeout // timedelta(milliseconds=1)}")
    migrate(db)
    return db


class SqliteDeliveryStore:
    """SQLite in WAL mode with `synchronous=FULL`; one connection used from one thread.

    Writes (inserts, finishes, plan steps, reschedules) that arrive while a transaction is
    being committed are grouped into the next transaction (group commit): each returns only
    after its own batch committed, so one fsync serves many deliveries.
    """

    def __init__(
        self, path: str, *, busy_timeout: timedelta = timedelta(seconds=5), exclusive: bool = True
    ) -> None:
        """`exclusive=False` opens the database beside the process that serves it, without its
        lock (the `baton deliveries` commands): SQLite's own locking keeps the two connections'
        transactions apart, and the server's worker finds what changed when it next looks."""
        self._lock = _lock_exclusively(path) if exclusive else None
        try:
            self._db = _connect(path, busy_timeout)
        except (sqlite3.Error, OSError, NewerSchema) as error:
            self._unlock()
            reason = error.strerror if isinstance(error, OSError) else error
            raise StoreUnavailable(f"cannot open the delivery store {path}: {reason}") from None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baton-store")
        self._inbox: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._committer: asyncio.Task[None] | None = None

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # the lock goes with its file descriptor
            self._lock = None

    async def _call(self, work: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, work, *args)

    def _transaction(self, work: Any, *args: Any) -> Any:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = work(*args)
            self._db.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (a full disk, for one).
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return result

    async def add(self, delivery: NewDelivery) -> bool:
        added: bool = await self._grouped(partial(self._insert, delivery))
        return added

    async def _grouped(self, work: Callable[[], Any]) -> Any:
        """Run `work` in the next group-committed transaction; return once that committed."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inbox.append((work, done))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_inbox())
        return await done

    async def _commit_inbox(self) -> None:
        while self._inbox:
            batch, self._inbox = self._inbox, []
            try:
                results = await self._call(self._transaction, _run_all, [w for w, _ in batch])
            except Exception as error:
                if _of_the_whole_store(error):  # each write alone would meet it again
                    _fail_all(batch, error)
                else:
                    await self._commit_one_by_one(batch)  # so one failure does not fail the rest
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)

    async def _commit_one_by_one(
        self, batch: list[tuple[Callable[[], Any], asyncio.Future[Any]]]
    ) -> None:
        for work, done in batch:
            try:
                result = await self._call(self._transaction, work)
            except Exception as error:
                if not done.done():
                    done.set_exception(error)
            else:
                if not done.done():
                    done.set_result(result)

    def _insert(self, d: NewDelivery) -> bool:
        values = (d.delivery_id, d.event, d.action, d.issue_key, _to_text(d.received_at))
        inserted = self._db.execute(_INSERT, values)
        if inserted.rowcount != 1:
            return False
        self._db.execute(_INSERT_BODY, (inserted.lastrowid, d.body))
        return True

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> Claim:
        # Claims share the group commit too: marking rows running needs no fsync of its own.
        claimed: Claim = await self._grouped(partial(self._claim, now, limit, now + lease))
        return claimed

    def _claim(self, now: datetime, limit: int, lease_until: datetime) -> Claim:
        at = _to_text(now)
        claimable = _deliveries(self._db.execute(_CLAIMABLE, {"now": at, "limit": limit}))
        claimed = self._mark_running(claimable, lease_until)
        [next_due] = self._db.execute(_NEXT_DUE, {"now": at}).fetchone()
        return Claim(claimed, _from_text(next_due))

    def _mark_running(self, deliveries: list[Delivery], lease_until: datetime) -> list[Delivery]:
        until = _to_text(lease_until)
        self._db.executemany(_MARK_RUNNING, [(until, d.delivery_id) for d in deliveries])
        return [delivery.running_until(lease_until) for delivery in deliveries]

    async def release_running(self) -> int:
        return await self._write(
            "UPDATE deliveries SET status = 'pending', lease_until = NULL WHERE status = 'running'"
        )

    async def renew(self, delivery_ids: Sequence[str], until: datetime) -> None:
        if delivery_ids:
            await self._write(
                "UPDATE deliveries SET lease_until = ?"
                " WHERE delivery_id IN (SELECT value FROM json_each(?)) AND status = 'running'",
                _to_text(until),
                json.dumps(list(delivery_ids)),
            )

    async def finish(self, delivery_id: str) -> None:
        await self._write(_FINISH, delivery_id)

    async def finish_and_claim_next(
        self, delivery_ids: Sequence[str], issue_key: str, now: datetime, *, lease: timedelta
    ) -> Delivery | None:
        claimed: Delivery | None = await self._grouped(
            partial(
                self._finish_and_claim_next,
                delivery_ids,
                issue_key,
                now,
                now + lease,
            )
        )
        return claimed

    def _finish_and_claim_next(
        self, delivery_ids: Sequence[str], issue_key: str, now: datetime, lease_until: datetime
    ) -> Delivery | None:
        self._db.executemany(_FINISH, [(delivery_id,) for delivery_id in delivery_ids])
        params = {"issue_key": issue_key, "now": _to_text(now)}
        head = _deliveries(self._db.execute(_HEAD_OF_ISSUE, params))
        return next(iter(self._mark_running(head, lease_until)), None)

    async def claim_following(
        self, head: Delivery, now: datetime, *, limit: int, lease: timedelta, joins: Joins
    ) -> list[Delivery]:
        if head.issue_key is None or limit <= 0:
            return []
        claimed: list[Delivery] = await self._grouped(
            partial(
                self._claim_following,
                head,
                now,
                limit,
                now + lease,
                joins,
            )
        )
        return claimed

    def _claim_following(
        self, head: Delivery, now: datetime, limit: int, lease_until: datetime, joins: Joins
    ) -> list[Delivery]:
        params = {"head": head.delivery_id, "issue_key": head.issue_key, "limit": limit}
        behind = _deliveries(self._db.execute(_FOLLOWING, params))
        run = following_run(behind, now, limit=limit, joins=joins)
        return self._mark_running(run, lease_until)

    async def release(self, delivery_ids: Sequence[str]) -> None:
        if delivery_ids:
            await self._write(
                "UPDATE deliveries SET status = 'pending', lease_until = NULL"
                " WHERE delivery_id IN (SELECT value FROM json_each(?)) AND status = 'running'",
                json.dumps(list(delivery_ids)),
            )

    async def reschedule(
        self, delivery_id: str, *, not_before: datetime, error: str, failed_attempt: bool
    ) -> None:
        counter = "attempts" if failed_attempt else "reschedules"
        await self._write(
            f"UPDATE deliveries SET status = 'pending', lease_until = NULL, not_before = ?,"
            f" last_error = ?, {counter} = {counter} + 1 WHERE delivery_id = ?",
            _to_text(not_before),
            error,
            delivery_id,
        )

    async def fail(self, delivery_id: str, *, error: str) -> None:
        await self._write(
            "UPDATE deliveries SET status = 'failed', lease_until = NULL, last_error = ?,"
            " attempts = attempts + 1 WHERE delivery_id = ?",
            error,
            delivery_id,
        )

    async def save_plan(self, delivery_id: str, plan: str, covers: Sequence[str] = ()) -> None:
        await self._grouped(partial(self._save_plan, delivery_id, plan, covers))

    def _save_plan(self, delivery_id: str, plan: str, covers: Sequence[str]) -> None:
        self._db.execute(
            "UPDATE deliveries SET plan = ?, plan_step = 0 WHERE delivery_id = ?",
            (plan, delivery_id),
        )
        self._db.executemany(_FINISH, [(covered,) for covered in covers])

    async def advance_plan(self, delivery_id: str, step: int) -> None:
        await self._write(
            "UPDATE deliveries SET plan_step = ? WHERE delivery_id = ?", step, delivery_id
        )

    async def get(self, delivery_id: str) -> Delivery | None:
        found = await self._read_deliveries(
            f"SELECT {_COLUMNS} FROM deliveries AS d WHERE delivery_id = ?", delivery_id
        )
        return next(iter(found), None)

    async def list_deliveries(self, statuses: Collection[DeliveryStatus]) -> list[Delivery]:
        return await self._read_deliveries(
            f"SELECT {_COLUMNS} FROM deliveries AS d"
            " WHERE status IN (SELECT value FROM json_each(?)) ORDER BY seq",
            json.dumps(list(statuses)),
        )

    async def retry_failed(self, delivery_id: str) -> bool:
        changed = await self._write(f"{_RETRY} AND delivery_id = ?", delivery_id)
        return changed == 1

    async def retry_all_failed(self) -> int:
        return await self._write(_RETRY)

    async def prune(self, before: datetime, *, batch: int = 1000) -> int:
        pruned = 0
        while True:
            deleted: int = await self._grouped(partial(self._prune, _to_text(before), batch))
            pruned += deleted
            if deleted < batch:
                return pruned

    def _prune(self, before: str, batch: int) -> int:
        seqs = json.dumps([seq for (seq,) in self._db.execute(_PRUNABLE, (before, batch))])
        self._db.execute(f"DELETE FROM payloads WHERE seq IN {_SEQS}", (seqs,))
        return self._db.execute(f"DELETE FROM deliveries WHERE seq IN {_SEQS}", (seqs,)).rowcount

    async def counts(self) -> dict[DeliveryStatus, int]:
        rows = await self._read_all(
            "SELECT status, count(*) FROM deliveries"
            " WHERE status IN ('pending', 'running', 'failed') GROUP BY status"
        )
        found = {DeliveryStatus(status): count for status, count in rows}
        return {status: found.get(status, 0) for status in COUNTED}

    async def known_ids(self, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        if not wanted:
            return set()
        rows = await self._read_all(
            "SELECT delivery_id FROM deliveries"
            " WHERE delivery_id IN (SELECT value FROM json_each(?))",
            json.dumps(wanted),
        )
        return {row[0] for row in rows}

    async def record_write(self, issue_key: str, body: str, over: str) -> None:
        await self._write(
            "INSERT INTO bodies_written (issue_key, body, over) VALUES (?, ?, ?)"
            " ON CONFLICT (issue_key) DO UPDATE SET body = excluded.body, over = excluded.over",
            issue_key,
            body,
            over,
        )

    async def last_write(self, issue_key: str) -> tuple[str, str] | None:
        rows = await self._read_all(
            "SELECT body, over FROM bodies_written WHERE issue_key = ?", issue_key
        )
        return next(((str(body), str(over)) for body, over in rows), None)

    async def hold_job(self, job: str, holder: str, now: datetime, until: datetime) -> bool:
        changed = await self._write(_HOLD_JOB, job, holder, _to_text(until), _to_text(now))
        return changed == 1

    async def release_job(self, job: str, holder: str) -> None:
        await self._write("DELETE FROM job_leases WHERE job = ? AND holder = ?", job, holder)

    async def announce_config_change(self, repo: str) -> None:
        """No other process shares the file: the one that received the push is told already."""

    async def config_changes(self) -> AsyncIterator[str | None]:
        await asyncio.Event().wait()  # nothing to hear, ever
        yield None

    async def close(self) -> None:
        if self._committer is not None:
            await self._committer
        await self._call(self._db.close)
        self._thread.shutdown(wait=True)
        self._unlock()

    async def _write(self, sql: str, *params: Any) -> int:
        changed: int = await self._grouped(partial(self._rowcount, sql, params))
        return changed

    def _rowcount(self, sql: str, params: tuple[Any, ...]) -> int:
        return self._db.execute(sql, params).rowcount

    async def _read_deliveries(self, sql: str, *params: Any) -> list[Delivery]:
        found: list[Delivery] = await self._call(self._fetch_deliveries, sql, params)
        return found

    async def _read_all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = await self._call(self._fetch_all, sql, params)
        return rows

    def _fetch_deliveries(self, sql: str, params: tuple[Any, ...]) -> list[Delivery]:
        return _deliveries(self._db.execute(sql, params))

    def _fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()
