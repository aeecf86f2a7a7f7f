"""What the SQLite backend does beyond the store's contract (tests/server/test_store_contract.py):
its file, its lock, its schema versions, its query plans, a locked or full database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.server.databases import open_store
from app.server.sqlite_schema import SCHEMA_VERSION
from app.server.sqlite_store import _CLAIMABLE, _PRUNABLE, SqliteDeliveryStore
from app.server.store import DeliveryStatus, StoreUnavailable
from tests.server.helpers import locked, new_delivery

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


def test_open_store_accepts_sqlite_urls(tmp_path: Path) -> None:
    assert isinstance(open_store("sqlite:///:memory:"), SqliteDeliveryStore)
    assert isinstance(open_store(f"sqlite:///{tmp_path / 'baton.db'}"), SqliteDeliveryStore)
    assert (tmp_path / "baton.db").exists()


@pytest.mark.parametrize(
    "url", ["mysql://baton:hunter2@db/baton", "sqlite://", "baton.db", "postgresql://"]
)
def test_open_store_refuses_other_urls_without_echoing_them(url: str) -> None:
    with pytest.raises(ValueError, match="sqlite:///") as refused:
        open_store(url)
    assert "hunter2" not in str(refused.value)


async def test_the_file_is_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    store = SqliteDeliveryStore(str(tmp_path / "baton.db"))
    try:
        assert store._db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)
    finally:
        await store.close()


def payload_count(store: SqliteDeliveryStore) -> int:
    [(count,)] = store._db.execute("SELECT count(*) FROM payloads").fetchall()
    return int(count)


async def test_pruning_deletes_the_payloads_too(store: SqliteDeliveryStore) -> None:
    old, young = (
        replace(new_delivery("o/r#1"), received_at=NOW - timedelta(days=days)) for days in (9, 1)
    )
    for delivery in (old, young):
        await store.add(delivery)
        await store.finish(delivery.delivery_id)

    assert await store.prune(NOW - timedelta(days=7)) == 1
    assert payload_count(store) == 1


async def test_pruning_reads_only_the_done_deliveries_it_removes(
    store: SqliteDeliveryStore,
) -> None:
    plan = store._db.execute(f"EXPLAIN QUERY PLAN {_PRUNABLE}", ("x", 1)).fetchall()
    assert [detail for *_, detail in plan] == [
        "SEARCH deliveries USING INDEX deliveries_done_by_age (received_at<?)"
    ]


# The schema of the last release, before schema versions: `user_version` is 0.
PREVIOUS_RELEASE_SCHEMA = """
CREATE TABLE deliveries (
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
CREATE INDEX deliveries_unfinished_by_issue
    ON deliveries (issue_key, seq) WHERE status IN ('pending', 'running');
CREATE INDEX deliveries_unfinished_without_issue
    ON deliveries (seq) WHERE issue_key IS NULL AND status IN ('pending', 'running');
CREATE INDEX deliveries_by_status ON deliveries (status, not_before);
CREATE TABLE payloads (seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
INSERT INTO deliveries (seq, delivery_id, event, action, issue_key, received_at, status, plan)
    VALUES (1, 'old-1', 'issue_comment', 'created', 'o/r#1', '2026-11-24T09:00:00+00:00',
            'pending', 'a journaled plan'),
           (2, 'old-2', 'issues', 'opened', 'o/r#2', '2026-11-01T09:00:00+00:00', 'done', NULL);
INSERT INTO payloads (seq, body) VALUES (1, X'7B7D'), (2, X'5B5D');
"""

# The first shape of all: the body was one of the columns of `deliveries`.
FIRST_SCHEMA = """
CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL UNIQUE, event TEXT NOT NULL,
    action TEXT, issue_key TEXT, body BLOB NOT NULL, received_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    reschedules INTEGER NOT NULL DEFAULT 0, not_before TEXT, lease_until TEXT,
    last_error TEXT, plan TEXT, plan_step INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_unfinished_by_issue
    ON deliveries (issue_key, seq) WHERE status IN ('pending', 'running');
CREATE INDEX deliveries_by_status ON deliveries (status, not_before);
INSERT INTO deliveries (delivery_id, event, action, issue_key, body, received_at)
    VALUES ('old-1', 'issue_comment', 'created', 'o/r#1', X'7B7D', '2026-11-24T09:00:00+00:00');
"""


def database_of(path: Path, script: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as old:
        old.executescript(script)


def user_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as reader:
        [(version,)] = reader.execute("PRAGMA user_version").fetchall()
    return int(version)


async def test_a_database_of_the_previous_release_is_migrated_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "baton.db"
    database_of(path, PREVIOUS_RELEASE_SCHEMA)

    store = SqliteDeliveryStore(str(path))
    try:
        old = await store.get("old-2")
        [claimed] = (await store.claim(NOW, limit=5, lease=LEASE)).deliveries
        assert (claimed.delivery_id, claimed.body, claimed.plan) == (
            "old-1",
            b"{}",
            "a journaled plan",
        )
        assert old is not None and (old.status, old.body) == (DeliveryStatus.DONE, b"[]")
        assert await store.prune(NOW - timedelta(days=7)) == 1  # the index pruning uses
    finally:
        await store.close()
    assert user_version(path) == SCHEMA_VERSION


async def test_a_database_with_bodies_in_the_deliveries_table_is_moved_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "baton.db"
    database_of(path, FIRST_SCHEMA)

    store = SqliteDeliveryStore(str(path))
    try:
        [claimed] = (await store.claim(NOW, limit=5, lease=LEASE)).deliveries
        assert (claimed.delivery_id, claimed.body) == ("old-1", b"{}")
        fresh = new_delivery("o/r#2")
        assert await store.add(fresh)
        stored = await store.get(fresh.delivery_id)
        assert stored is not None and stored.body == fresh.body
    finally:
        await store.close()
    assert user_version(path) == SCHEMA_VERSION


async def test_a_new_database_starts_at_the_latest_schema_version_and_stays_there(
    tmp_path: Path,
) -> None:
    path = tmp_path / "baton.db"
    for _ in range(2):
        store = SqliteDeliveryStore(str(path))
        await store.add(new_delivery("o/r#1"))
        await store.close()

    assert user_version(path) == SCHEMA_VERSION
    with contextlib.closing(sqlite3.connect(path)) as reader:
        assert reader.execute("SELECT count(*) FROM deliveries").fetchone() == (2,)


async def test_a_database_of_a_newer_baton_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "baton.db"
    database_of(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1};")

    with pytest.raises(StoreUnavailable) as refused:
        SqliteDeliveryStore(str(path))

    assert str(path) in str(refused.value)
    assert "newer" in str(refused.value)
    assert user_version(path) == SCHEMA_VERSION + 1


async def test_the_database_and_its_companion_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "baton.db"
    previous = os.umask(0o022)  # the usual umask, which leaves new files world-readable
    try:
        store = SqliteDeliveryStore(str(path))
        await store.add(new_delivery("o/r#1"))
        companions = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", ".lock")]
        modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in (path, *companions)}
        await store.close()
    finally:
        os.umask(previous)

    assert modes == dict.fromkeys(modes, 0o600)
    assert set(modes) == {"baton.db", "baton.db-wal", "baton.db-shm", "baton.db.lock"}


async def test_a_database_readable_by_others_is_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "baton.db"
    database_of(path, PREVIOUS_RELEASE_SCHEMA)  # as the last release created it
    path.chmod(0o644)

    await SqliteDeliveryStore(str(path)).close()

    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"the delivery store {path} can be read by other users (mode 0644): chmod 600 {path}"
    ]


async def test_a_store_opened_beside_the_running_one_reads_and_writes_without_its_lock(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "baton.db")
    server = SqliteDeliveryStore(path)
    try:
        delivery = new_delivery("o/r#1")
        await server.add(delivery)
        await server.fail(delivery.delivery_id, error="boom")
        beside = SqliteDeliveryStore(path, exclusive=False)
        try:
            assert await beside.retry_failed(delivery.delivery_id)
        finally:
            await beside.close()
        with pytest.raises(StoreUnavailable):  # the server still holds its lock
            SqliteDeliveryStore(path)
        claimed = (await server.claim(NOW, limit=5, lease=LEASE)).deliveries
    finally:
        await server.close()

    assert [d.delivery_id for d in claimed] == [delivery.delivery_id]


async def test_unfinished_deliveries_survive_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "baton.db")
    store = SqliteDeliveryStore(path)
    crashed, waiting = new_delivery("o/r#1"), new_delivery("o/r#2")
    await store.add(crashed)
    await store.add(waiting)
    await store.claim(NOW, limit=1, lease=LEASE)
    await store.close()

    reopened = SqliteDeliveryStore(path)
    try:
        assert await reopened.release_running() == 1
        claimed = (await reopened.claim(NOW, limit=10, lease=LEASE)).deliveries
        assert [d.delivery_id for d in claimed] == [crashed.delivery_id, waiting.delivery_id]
        assert claimed[0].body == crashed.body
    finally:
        await reopened.close()


async def test_a_second_store_on_the_same_file_is_refused_while_the_first_is_open(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "baton.db")
    first = SqliteDeliveryStore(path)
    try:
        with pytest.raises(StoreUnavailable) as refused:
            SqliteDeliveryStore(path)
    finally:
        await first.close()
    second = SqliteDeliveryStore(path)  # the lock went with the first
    await second.close()
    in_memory = [SqliteDeliveryStore(":memory:") for _ in range(2)]  # nothing to share
    for store in in_memory:
        await store.close()

    assert path in str(refused.value)
    assert "another" in str(refused.value)


async def test_a_file_that_is_not_a_database_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "baton.db"
    path.write_bytes(b"not a database, " * 512)

    with pytest.raises(StoreUnavailable) as refused:
        SqliteDeliveryStore(str(path))
    path.unlink()
    reopened = SqliteDeliveryStore(str(path))  # the refused one let go of the lock
    await reopened.close()

    assert str(refused.value) == f"cannot open the delivery store {path}: file is not a database"


async def test_writes_waiting_on_a_locked_store_fail_together_and_it_writes_once_unlocked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "baton.db"
    store = SqliteDeliveryStore(str(path), busy_timeout=timedelta(milliseconds=200))
    try:
        with locked(path):
            started = time.monotonic()
            results = await asyncio.gather(
                *(store.add(new_delivery("o/r#1")) for _ in range(20)), return_exceptions=True
            )
            elapsed = time.monotonic() - started
        added = await store.add(new_delivery("o/r#1"))
    finally:
        await store.close()

    assert {str(result) for result in results} == {"database is locked"}
    assert elapsed < 2.0, "one wait for the lock, not one per write (20 times 0.2 s)"
    assert added


async def test_a_full_disk_fails_a_write_with_its_own_error_and_the_store_recovers(
    tmp_path: Path,
) -> None:
    store = SqliteDeliveryStore(str(tmp_path / "baton.db"))
    large = replace(new_delivery("o/r#1"), body=b'{"text": "' + b"x" * 100_000 + b'"}')
    try:
        (pages,) = store._db.execute("PRAGMA page_count").fetchone()
        store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
        with pytest.raises(sqlite3.OperationalError, match="full"):
            await store.add(large)
        store._db.execute("PRAGMA max_page_count = 1073741823")  # room again
        added = await store.add(large)
    finally:
        await store.close()

    assert added


async def test_a_claim_never_scans_the_history_or_the_backlog(
    store: SqliteDeliveryStore,
) -> None:
    """A claim seeks the head of each issue's queue in the index of unfinished deliveries;
    it reads no row of finished history and no delivery queued behind another."""
    plan = store._db.execute(
        f"EXPLAIN QUERY PLAN {_CLAIMABLE}", {"now": "x", "limit": 1}
    ).fetchall()
    scans = [detail for *_, detail in plan if detail.startswith("SCAN") and "deliveries" in detail]
    assert scans == ["SCAN deliveries USING INDEX deliveries_unfinished_without_issue"]
