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
from hypothesis import given, settings
from hypothesis import strategies as st

from app.server.store import (
    _CLAIMABLE,
    _PRUNABLE,
    SCHEMA_VERSION,
    Claim,
    DeliveryStatus,
    NewDelivery,
    SqliteDeliveryStore,
    StoreUnavailable,
    open_store,
)
from tests.server.helpers import locked, new_delivery

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


def test_open_store_accepts_sqlite_urls(tmp_path: Path) -> None:
    assert isinstance(open_store("sqlite:///:memory:"), SqliteDeliveryStore)
    assert isinstance(open_store(f"sqlite:///{tmp_path / 'baton.db'}"), SqliteDeliveryStore)
    assert (tmp_path / "baton.db").exists()


@pytest.mark.parametrize(
    "url", ["postgresql://baton:hunter2@db/baton", "sqlite://", "baton.db", "mysql://x"]
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


async def test_a_claim_takes_the_first_unfinished_delivery_of_each_issue(
    store: SqliteDeliveryStore,
) -> None:
    a1, a2, b1, loose = (new_delivery(k) for k in ["o/r#1", "o/r#1", "o/r#2", None])
    for delivery in (a1, a2, b1, loose):
        assert await store.add(delivery)

    first = (await store.claim(NOW, limit=10, lease=LEASE)).deliveries
    again = (await store.claim(NOW, limit=10, lease=LEASE)).deliveries

    assert [d.delivery_id for d in first] == [a1.delivery_id, b1.delivery_id, loose.delivery_id]
    assert {d.status for d in first} == {DeliveryStatus.RUNNING}
    assert {d.lease_until for d in first} == {NOW + LEASE}
    assert again == []
    await store.finish(a1.delivery_id)
    assert [d.delivery_id for d in (await store.claim(NOW, limit=10, lease=LEASE)).deliveries] == [
        a2.delivery_id
    ]


async def test_a_rescheduled_delivery_waits_and_holds_back_its_issue(
    store: SqliteDeliveryStore,
) -> None:
    first, second = new_delivery("o/r#1"), new_delivery("o/r#1")
    await store.add(first)
    await store.add(second)
    await store.claim(NOW, limit=10, lease=LEASE)
    later = NOW + timedelta(minutes=5)
    await store.reschedule(
        first.delivery_id, not_before=later, error="rate limited", failed_attempt=False
    )

    assert await store.claim(NOW, limit=10, lease=LEASE) == Claim([], next_due=later)
    due = (await store.claim(later, limit=10, lease=LEASE)).deliveries
    assert [d.delivery_id for d in due] == [first.delivery_id]
    assert (due[0].attempts, due[0].reschedules, due[0].last_error) == (0, 1, "rate limited")


async def test_an_expired_lease_can_be_claimed_again(store: SqliteDeliveryStore) -> None:
    delivery = new_delivery("o/r#1")
    await store.add(delivery)
    await store.claim(NOW, limit=1, lease=LEASE)

    assert (await store.claim(NOW + LEASE / 2, limit=1, lease=LEASE)).deliveries == []
    reclaimed = (await store.claim(NOW + LEASE, limit=1, lease=LEASE)).deliveries
    assert [d.delivery_id for d in reclaimed] == [delivery.delivery_id]


async def test_the_plan_journal_is_kept_with_the_delivery(store: SqliteDeliveryStore) -> None:
    delivery = new_delivery("o/r#1")
    await store.add(delivery)
    await store.save_plan(delivery.delivery_id, '["comment", "patch"]')
    await store.advance_plan(delivery.delivery_id, 1)

    [claimed] = (await store.claim(NOW, limit=1, lease=LEASE)).deliveries
    assert (claimed.plan, claimed.plan_step) == ('["comment", "patch"]', 1)


def comments_only(event: str, action: str | None) -> bool:
    return (event, action) == ("issue_comment", "created")


async def test_a_run_is_the_unbroken_line_of_joining_runnable_deliveries_behind_the_head(
    store: SqliteDeliveryStore,
) -> None:
    labeled = replace(new_delivery("o/r#1"), event="issues", action="labeled")
    line = [new_delivery("o/r#1") for _ in range(4)]
    other_issue = new_delivery("o/r#2")
    for delivery in (line[0], other_issue, line[1], line[2], labeled, line[3]):
        await store.add(delivery)
    [head, _] = (await store.claim(NOW, limit=2, lease=LEASE)).deliveries

    run = await store.claim_following(head, NOW, limit=10, lease=LEASE, joins=comments_only)
    assert [d.delivery_id for d in run] == [line[1].delivery_id, line[2].delivery_id]
    assert {d.status for d in run} == {DeliveryStatus.RUNNING}
    assert await store.claim_following(head, NOW, limit=10, lease=LEASE, joins=comments_only) == []

    await store.release([d.delivery_id for d in run])
    again = await store.claim_following(head, NOW, limit=1, lease=LEASE, joins=comments_only)
    assert [d.delivery_id for d in again] == [line[1].delivery_id], "at most `limit`"


async def test_a_run_stops_at_a_delivery_that_is_not_due(store: SqliteDeliveryStore) -> None:
    line = [new_delivery("o/r#1") for _ in range(3)]
    for delivery in line:
        await store.add(delivery)
    [head] = (await store.claim(NOW, limit=1, lease=LEASE)).deliveries
    [second] = await store.claim_following(head, NOW, limit=1, lease=LEASE, joins=comments_only)
    await store.reschedule(
        second.delivery_id, not_before=NOW + LEASE, error="wait", failed_attempt=False
    )

    assert await store.claim_following(head, NOW, limit=5, lease=LEASE, joins=comments_only) == []


async def test_a_plan_that_covers_a_run_finishes_the_rest_of_it(
    store: SqliteDeliveryStore,
) -> None:
    line = [new_delivery("o/r#1") for _ in range(3)]
    for delivery in line:
        await store.add(delivery)
    [head] = (await store.claim(NOW, limit=1, lease=LEASE)).deliveries
    covered, left = await store.claim_following(
        head, NOW, limit=5, lease=LEASE, joins=comments_only
    )

    await store.save_plan(head.delivery_id, '["patch"]', [covered.delivery_id])
    await store.release([covered.delivery_id, left.delivery_id])  # the head then fails

    statuses = [(await store.get(d.delivery_id)) for d in line]
    assert [d.status if d else None for d in statuses] == [
        DeliveryStatus.RUNNING,
        DeliveryStatus.DONE,
        DeliveryStatus.PENDING,
    ]


async def test_failed_deliveries_are_listed_and_can_be_retried(
    store: SqliteDeliveryStore,
) -> None:
    kept, failed = new_delivery(None), new_delivery(None)
    await store.add(kept)
    await store.add(failed)
    await store.fail(failed.delivery_id, error="RuntimeError: boom")

    [listed] = await store.list_deliveries({DeliveryStatus.FAILED})
    assert (listed.delivery_id, listed.last_error, listed.attempts) == (
        failed.delivery_id,
        "RuntimeError: boom",
        1,
    )
    assert await store.retry_failed(kept.delivery_id) is False
    assert await store.retry_failed(failed.delivery_id) is True
    assert await store.list_deliveries({DeliveryStatus.FAILED}) == []
    retried = await store.get(failed.delivery_id)
    assert retried is not None
    assert (retried.status, retried.attempts) == (DeliveryStatus.PENDING, 0)


async def test_every_failed_delivery_can_be_retried_at_once(store: SqliteDeliveryStore) -> None:
    done, *failed = [new_delivery(None) for _ in range(4)]
    for delivery in (done, *failed):
        await store.add(delivery)
    await store.finish(done.delivery_id)
    for delivery in failed:
        await store.fail(delivery.delivery_id, error="boom")

    assert await store.retry_all_failed() == 3
    assert await store.retry_all_failed() == 0
    listed = await store.list_deliveries({DeliveryStatus.PENDING, DeliveryStatus.FAILED})
    assert [(d.delivery_id, d.status) for d in listed] == [
        (d.delivery_id, DeliveryStatus.PENDING) for d in failed
    ]


def payload_count(store: SqliteDeliveryStore) -> int:
    [(count,)] = store._db.execute("SELECT count(*) FROM payloads").fetchall()
    return int(count)


async def test_done_deliveries_older_than_the_retention_are_pruned_with_their_payloads(
    store: SqliteDeliveryStore,
) -> None:
    def received(days_ago: float) -> NewDelivery:
        return replace(new_delivery("o/r#1"), received_at=NOW - timedelta(days=days_ago))

    old_done, old_pending, old_running, old_failed = (received(9) for _ in range(4))
    young_done, at_the_limit = received(6.9), received(7)
    many_old_done = [received(8) for _ in range(7)]
    for delivery in (old_done, old_pending, old_running, old_failed, young_done, at_the_limit):
        await store.add(delivery)
    for delivery in many_old_done:
        await store.add(delivery)
    for delivery in (old_done, young_done, at_the_limit, *many_old_done):
        await store.finish(delivery.delivery_id)
    await store.fail(old_failed.delivery_id, error="boom")
    await store._write(  # as a worker left it: running, its lease long over
        "UPDATE deliveries SET status = 'running' WHERE delivery_id = ?", old_running.delivery_id
    )

    pruned = await store.prune(NOW - timedelta(days=7), batch=3)  # several batches

    assert pruned == 8
    kept = [old_pending, old_running, old_failed, young_done, at_the_limit]
    assert await store.known_ids(d.delivery_id for d in (*kept, old_done, *many_old_done)) == {
        d.delivery_id for d in kept
    }
    assert payload_count(store) == len(kept)
    assert await store.prune(NOW - timedelta(days=7)) == 0


async def test_pruning_reads_only_the_done_deliveries_it_removes(
    store: SqliteDeliveryStore,
) -> None:
    plan = store._db.execute(f"EXPLAIN QUERY PLAN {_PRUNABLE}", ("x", 1)).fetchall()
    assert [detail for *_, detail in plan] == [
        "SEARCH deliveries USING INDEX deliveries_done_by_age (received_at<?)"
    ]


async def test_known_ids_answers_which_deliveries_are_stored(store: SqliteDeliveryStore) -> None:
    stored = new_delivery(None, delivery_id="x'); DROP TABLE deliveries; --")
    await store.add(stored)

    assert await store.known_ids([]) == set()
    assert await store.known_ids([stored.delivery_id, "missing"]) == {stored.delivery_id}


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


async def test_deliveries_added_together_are_committed_before_add_returns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "baton.db"
    store = SqliteDeliveryStore(str(path))
    deliveries = [new_delivery("o/r#1") for _ in range(50)]
    try:
        added = await asyncio.gather(
            *(store.add(d) for d in [*deliveries, deliveries[0], deliveries[7]])
        )
        with contextlib.closing(sqlite3.connect(path)) as reader:
            (count,) = reader.execute("SELECT count(*) FROM deliveries").fetchone()
    finally:
        await store.close()

    assert added == [True] * 50 + [False, False]
    assert count == 50


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


# -- claims against a model of the rules ---------------------------------------------------
ISSUES = ("octo/a#1", "octo/a#2", "octo/b#1", None)
Op = tuple[str, int, int]  # (operation, which delivery or issue, a small number)


def model_runnable(row: dict[str, object], now: datetime) -> bool:
    """Due (pending and past `not_before`), or running with its lease run out."""
    due = row["status"] == "pending" and (
        row["not_before"] is None or row["not_before"] <= now  # type: ignore[operator]
    )
    expired = row["status"] == "running" and row["lease_until"] <= now  # type: ignore[operator]
    return due or expired


def model_claimable(
    rows: dict[str, dict[str, object]], order: list[str], now: datetime
) -> list[str]:
    """The rule, said plainly: the first unfinished delivery of each issue, if it is due (pending
    and past `not_before`) or its lease has run out; deliveries without an issue always qualify."""
    blocked: set[object] = set()
    runnable = []
    for delivery_id in order:
        row = rows[delivery_id]
        if row["status"] not in ("pending", "running"):
            continue
        key = row["issue"]
        if key is not None and key in blocked:
            continue
        if key is not None:
            blocked.add(key)
        if model_runnable(row, now):
            runnable.append(delivery_id)
    return runnable


def model_following(
    rows: dict[str, dict[str, object]], order: list[str], head: str, now: datetime
) -> list[str]:
    """The rule for a run, said plainly: the unfinished deliveries of the head's issue queued
    after it, as long as each is due or its lease has run out."""
    issue = rows[head]["issue"]
    if issue is None:
        return []
    behind = [
        d
        for d in order[order.index(head) + 1 :]
        if rows[d]["issue"] == issue and rows[d]["status"] in ("pending", "running")
    ]
    run = []
    for delivery_id in behind:
        row = rows[delivery_id]
        if not model_runnable(row, now):
            break
        run.append(delivery_id)
    return run


def model_next_due(rows: dict[str, dict[str, object]], now: datetime) -> datetime | None:
    """The earliest time after `now` at which a waiting delivery is due."""
    due = [
        row["not_before"]
        for row in rows.values()
        if row["status"] == "pending"
        and isinstance(row["not_before"], datetime)
        and row["not_before"] > now
    ]
    return min(due, default=None)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "add",
                    "claim",
                    "finish",
                    "finish_next",
                    "follow",
                    "release",
                    "fail",
                    "reschedule",
                    "later",
                ]
            ),
            st.integers(0, 30),
            st.integers(1, 4),
        ),
        max_size=60,
    )
)
def test_claims_follow_the_rule_whatever_the_history(ops: list[Op]) -> None:
    asyncio.run(_play_claims(ops))


async def _play_claims(ops: list[Op]) -> None:
    store = SqliteDeliveryStore(":memory:")
    rows: dict[str, dict[str, object]] = {}
    order: list[str] = []
    now = NOW
    try:
        for op, pick, small in ops:
            running = [d for d in order if rows[d]["status"] == "running"]
            if op == "add":
                delivery = new_delivery(ISSUES[pick % len(ISSUES)])
                await store.add(delivery)
                order.append(delivery.delivery_id)
                rows[delivery.delivery_id] = {
                    "issue": delivery.issue_key,
                    "status": "pending",
                    "not_before": None,
                    "lease_until": None,
                }
            elif op == "claim":
                expected = model_claimable(rows, order, now)[:small]
                claim = await store.claim(now, limit=small, lease=LEASE)
                assert [d.delivery_id for d in claim.deliveries] == expected
                assert claim.next_due == model_next_due(rows, now)
                for delivery_id in expected:
                    rows[delivery_id].update(status="running", lease_until=now + LEASE)
            elif op == "later":
                now += timedelta(minutes=small * 3)
            elif running:
                delivery_id = running[pick % len(running)]
                if op == "finish":
                    await store.finish(delivery_id)
                    rows[delivery_id].update(status="done")
                elif op == "finish_next":
                    issue = rows[delivery_id]["issue"]
                    if issue is None:
                        continue
                    rows[delivery_id].update(status="done")
                    head = next(
                        (
                            d
                            for d in order
                            if rows[d]["issue"] == issue
                            and rows[d]["status"] in ("pending", "running")
                        ),
                        None,
                    )
                    expected_next = head if head in model_claimable(rows, order, now) else None
                    following = await store.finish_and_claim_next(
                        [delivery_id], str(issue), now, lease=LEASE
                    )
                    assert (following and following.delivery_id) == expected_next
                    if expected_next is not None:
                        rows[expected_next].update(status="running", lease_until=now + LEASE)
                elif op == "follow":
                    leader = await store.get(delivery_id)
                    assert leader is not None
                    expected = model_following(rows, order, delivery_id, now)[: small - 1]
                    run = await store.claim_following(
                        leader, now, limit=small - 1, lease=LEASE, joins=lambda e, a: True
                    )
                    assert [d.delivery_id for d in run] == expected
                    for follower in expected:
                        rows[follower].update(status="running", lease_until=now + LEASE)
                elif op == "release":
                    await store.release([delivery_id])
                    rows[delivery_id].update(status="pending", lease_until=None)
                elif op == "fail":
                    await store.fail(delivery_id, error="boom")
                    rows[delivery_id].update(status="failed")
                else:
                    not_before = now + timedelta(minutes=small * 2)
                    await store.reschedule(
                        delivery_id, not_before=not_before, error="wait", failed_attempt=False
                    )
                    rows[delivery_id].update(status="pending", not_before=not_before)
    finally:
        await store.close()


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
