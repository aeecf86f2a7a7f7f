"""The durable delivery store: every acknowledged webhook delivery is kept here until done.

`DeliveryStore` is the narrow interface the web layer and the worker use; `SqliteDeliveryStore`
is the single-process implementation. Claiming work is atomic (one transaction marks the
deliveries `running` with a lease), so a shared backend (PostgreSQL) can implement the same
interface for several replicas.

Order within an issue: a delivery is claimable only when no earlier unfinished (`pending` or
`running`) delivery has the same issue key. A `failed` delivery does not block its issue.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import sqlite3
import stat
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, Protocol, TypeVar

import msgspec

_T = TypeVar("_T")

SQLITE_PREFIX = "sqlite:///"

log = logging.getLogger(__name__)

# Whether a delivery (event, action) may be handled in one run with the one before it.
Joins = Callable[[str, str | None], bool]


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


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

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = msgspec.json.decode(self.body)  # as json.loads, 3 times faster
        return payload


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim took, and the earliest time after it at which a waiting delivery becomes
    runnable: both seen at the same moment, so no delivery falls due between the two."""

    deliveries: list[Delivery]
    next_due: datetime | None


class StoreUnavailable(Exception):
    """The store cannot be opened; the words say why and what to do."""


class DeliveryStore(Protocol):
    async def add(self, delivery: NewDelivery) -> bool:
        """Store durably before returning; False when the delivery id is already stored."""
        ...

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> Claim:
        """Atomically mark up to `limit` runnable deliveries `running` until `now + lease`, and
        find, in the same transaction, the earliest time after `now` at which a waiting
        delivery becomes runnable."""
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

    async def close(self) -> None: ...


_COUNTED = (DeliveryStatus.PENDING, DeliveryStatus.RUNNING, DeliveryStatus.FAILED)


def database_path(url: str) -> str:
    """The SQLite file named by `BATON_DATABASE_URL` (`sqlite:///relative.db`,
    `sqlite:////absolute/path.db`, `sqlite:///:memory:`)."""
    if url.startswith(SQLITE_PREFIX) and len(url) > len(SQLITE_PREFIX):
        return url.removeprefix(SQLITE_PREFIX)
    # Never echo the whole URL: a database URL may carry a password.
    scheme = url.split(":", 1)[0] if ":" in url else "(none)"
    raise ValueError(
        f"BATON_DATABASE_URL: Baton supports only SQLite for now, not {scheme!r}: "
        f"expected {SQLITE_PREFIX}path/to/baton.db"
    )


def open_store(url: str) -> DeliveryStore:
    """Open the store named by `BATON_DATABASE_URL`."""
    return SqliteDeliveryStore(database_path(url))


# The schema as the last release without schema versions left it (`user_version` 0).
_TABLES = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    action TEXT,
    issue_key TEXT,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    reschedules INTEGER NOT NULL DEFAULT 0,
    not_before TEXT,
    lease_until TEXT,
    last_error TEXT,
    plan TEXT,
    plan_step INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS deliveries_unfinished_by_issue
    ON deliveries (issue_key, seq) WHERE status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS deliveries_unfinished_without_issue
    ON deliveries (seq) WHERE issue_key IS NULL AND status IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS deliveries_by_status ON deliveries (status, not_before);
-- The body apart, so that a change of status does not write the whole payload again.
CREATE TABLE IF NOT EXISTS payloads (
    seq INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
"""

# The first databases kept the payloads in `deliveries.body`.
_MOVE_BODIES = """
INSERT INTO payloads (seq, body) SELECT seq, body FROM deliveries;
ALTER TABLE deliveries DROP COLUMN body;
"""


def _statements(script: str) -> list[str]:
    # `executescript` would commit the migration's transaction; the scripts hold no `;` in text.
    return [statement for statement in script.split(";") if statement.strip()]


def _tables(db: sqlite3.Connection) -> None:
    """Version 1: the tables, on a new database or one written before schema versions."""
    columns = {column[1] for column in db.execute("PRAGMA table_info(deliveries)")}
    for statement in _statements(_TABLES):
        db.execute(statement)
    if "body" in columns:  # the versionless databases are told apart by their shape alone
        for statement in _statements(_MOVE_BODIES):
            db.execute(statement)


def _done_by_age(db: sqlite3.Connection) -> None:
    """Version 2: pruning finds the old done deliveries without reading the others."""
    db.execute(
        "CREATE INDEX deliveries_done_by_age ON deliveries (received_at) WHERE status = 'done'"
    )


# In order: a database at version N has had the first N applied. Append; never edit one.
_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_tables, _done_by_age)
SCHEMA_VERSION = len(_MIGRATIONS)


class _NewerSchema(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(
            f"its schema version is {version}, written by a newer Baton"
            f" (this one knows versions up to {SCHEMA_VERSION}); run that Baton, or a newer one"
        )


def _schema_version(db: sqlite3.Connection) -> int:
    [version] = db.execute("PRAGMA user_version").fetchone()
    return int(version)


def _migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION: the missing migrations in one transaction, so a
    database is at one version or the next, never between. A database already there is only
    read: it opens while another connection holds the write lock."""
    if _schema_version(db) == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = _schema_version(db)  # again: another process may have migrated meanwhile
        if version > SCHEMA_VERSION:
            raise _NewerSchema(version)
        for migration in _MIGRATIONS[version:]:
            migration(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


# Columns of a Delivery, from `deliveries AS d`.
_COLUMNS = (
    "d.delivery_id, d.event, d.action, d.issue_key,"
    " (SELECT body FROM payloads WHERE payloads.seq = d.seq), d.received_at, d.status,"
    " d.attempts, d.reschedules, d.not_before, d.lease_until, d.last_error, d.plan, d.plan_step"
)

_INSERT = (
    "INSERT INTO deliveries (delivery_id, event, action, issue_key, received_at)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING"
)
_INSERT_BODY = "INSERT INTO payloads (seq, body) VALUES (?, ?)"

# Runnable: the first unfinished delivery of its issue (or one without an issue), pending and
# due, or running with an expired lease (its worker died). The heads of the issues' queues are
# found by skipping from one issue key to the next in the partial index (a seek per issue), so
# a claim costs the same with a backlog of thousands as with none.
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
WHERE (d.status = 'pending' AND (d.not_before IS NULL OR d.not_before <= :now))
   OR (d.status = 'running' AND d.lease_until <= :now)
ORDER BY d.seq
LIMIT :limit
"""


_NEXT_DUE = "SELECT min(not_before) FROM deliveries WHERE status = 'pending' AND not_before > ?"

# The first unfinished delivery of one issue, if it is runnable (as in _CLAIMABLE).
_HEAD_OF_ISSUE = f"""
SELECT {_COLUMNS} FROM deliveries AS d
WHERE d.seq = (
    SELECT min(seq) FROM deliveries INDEXED BY deliveries_unfinished_by_issue
    WHERE status IN ('pending', 'running') AND issue_key = :issue_key
)
AND (
    (d.status = 'pending' AND (d.not_before IS NULL OR d.not_before <= :now))
    OR (d.status = 'running' AND d.lease_until <= :now)
)
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


def _runnable(row: tuple[Any, ...], now: str) -> bool:
    """As in _CLAIMABLE: pending and due, or running with an expired lease."""
    status, not_before, lease_until = row[6], row[9], row[10]
    if status == "pending":
        return not_before is None or not_before <= now
    return status == "running" and lease_until is not None and lease_until <= now


def _running(row: tuple[Any, ...], lease_until: str) -> Delivery:
    """A claimed row, as it is once marked running."""
    return _delivery((*row[:6], "running", *row[7:10], lease_until, *row[11:]))


def _delivery(row: tuple[Any, ...]) -> Delivery:
    received_at = datetime.fromisoformat(row[5])
    return Delivery(
        delivery_id=row[0],
        event=row[1],
        action=row[2],
        issue_key=row[3],
        body=bytes(row[4]),
        received_at=received_at,
        status=DeliveryStatus(row[6]),
        attempts=row[7],
        reschedules=row[8],
        not_before=_from_text(row[9]),
        lease_until=_from_text(row[10]),
        last_error=row[11],
        plan=row[12],
        plan_step=row[13],
    )


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
    _migrate(db)
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
        except (sqlite3.Error, OSError, _NewerSchema) as error:
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
        claimed: Claim = await self._grouped(
            partial(self._claim, _to_text(now), limit, _to_text(now + lease))
        )
        return claimed

    def _claim(self, now: str, limit: int, lease_until: str) -> Claim:
        rows = self._db.execute(_CLAIMABLE, {"now": now, "limit": limit}).fetchall()
        self._db.executemany(_MARK_RUNNING, [(lease_until, row[0]) for row in rows])
        [next_due] = self._db.execute(_NEXT_DUE, (now,)).fetchone()
        return Claim([_running(row, lease_until) for row in rows], _from_text(next_due))

    async def release_running(self) -> int:
        return await self._write(
            "UPDATE deliveries SET status = 'pending', lease_until = NULL WHERE status = 'running'"
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
                _to_text(now),
                _to_text(now + lease),
            )
        )
        return claimed

    def _finish_and_claim_next(
        self, delivery_ids: Sequence[str], issue_key: str, now: str, lease_until: str
    ) -> Delivery | None:
        self._db.executemany(_FINISH, [(delivery_id,) for delivery_id in delivery_ids])
        row = self._db.execute(_HEAD_OF_ISSUE, {"issue_key": issue_key, "now": now}).fetchone()
        if row is None:
            return None
        self._db.execute(_MARK_RUNNING, (lease_until, row[0]))
        return _running(row, lease_until)

    async def claim_following(
        self, head: Delivery, now: datetime, *, limit: int, lease: timedelta, joins: Joins
    ) -> list[Delivery]:
        if head.issue_key is None or limit <= 0:
            return []
        claimed: list[Delivery] = await self._grouped(
            partial(
                self._claim_following,
                head,
                _to_text(now),
                limit,
                _to_text(now + lease),
                joins,
            )
        )
        return claimed

    def _claim_following(
        self, head: Delivery, now: str, limit: int, lease_until: str, joins: Joins
    ) -> list[Delivery]:
        params = {"head": head.delivery_id, "issue_key": head.issue_key, "limit": limit}
        rows = []
        for row in self._db.execute(_FOLLOWING, params):
            if not (_runnable(row, now) and joins(row[1], row[2])):
                break
            rows.append(row)
        self._db.executemany(_MARK_RUNNING, [(lease_until, row[0]) for row in rows])
        return [_running(row, lease_until) for row in rows]

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
        row = await self._read_one(
            f"SELECT {_COLUMNS} FROM deliveries AS d WHERE delivery_id = ?", delivery_id
        )
        return None if row is None else _delivery(row)

    async def list_deliveries(self, statuses: Collection[DeliveryStatus]) -> list[Delivery]:
        rows = await self._read_all(
            f"SELECT {_COLUMNS} FROM deliveries AS d"
            " WHERE status IN (SELECT value FROM json_each(?)) ORDER BY seq",
            json.dumps(list(statuses)),
        )
        return [_delivery(row) for row in rows]

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
        return {status: found.get(status, 0) for status in _COUNTED}

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

    async def _read_one(self, sql: str, *params: Any) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = await self._call(self._fetch_one, sql, params)
        return row

    async def _read_all(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = await self._call(self._fetch_all, sql, params)
        return rows

    def _fetch_one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._db.execute(sql, params).fetchone()
        return row

    def _fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self._db.execute(sql, params).fetchall()
