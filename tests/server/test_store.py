from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.server.store import DeliveryStatus, SqliteDeliveryStore, open_store
from tests.server.helpers import new_delivery

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

    first = await store.claim(NOW, limit=10, lease=LEASE)
    again = await store.claim(NOW, limit=10, lease=LEASE)

    assert [d.delivery_id for d in first] == [a1.delivery_id, b1.delivery_id, loose.delivery_id]
    assert {d.status for d in first} == {DeliveryStatus.RUNNING}
    assert {d.lease_until for d in first} == {NOW + LEASE}
    assert again == []
    await store.finish(a1.delivery_id)
    assert [d.delivery_id for d in await store.claim(NOW, limit=10, lease=LEASE)] == [
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

    assert await store.claim(NOW, limit=10, lease=LEASE) == []
    assert await store.next_due(NOW) == later
    due = await store.claim(later, limit=10, lease=LEASE)
    assert [d.delivery_id for d in due] == [first.delivery_id]
    assert (due[0].attempts, due[0].reschedules, due[0].last_error) == (0, 1, "rate limited")


async def test_an_expired_lease_can_be_claimed_again(store: SqliteDeliveryStore) -> None:
    delivery = new_delivery("o/r#1")
    await store.add(delivery)
    await store.claim(NOW, limit=1, lease=LEASE)

    assert await store.claim(NOW + LEASE / 2, limit=1, lease=LEASE) == []
    reclaimed = await store.claim(NOW + LEASE, limit=1, lease=LEASE)
    assert [d.delivery_id for d in reclaimed] == [delivery.delivery_id]


async def test_the_plan_journal_is_kept_with_the_delivery(store: SqliteDeliveryStore) -> None:
    delivery = new_delivery("o/r#1")
    await store.add(delivery)
    await store.save_plan(delivery.delivery_id, '["comment", "patch"]')
    await store.advance_plan(delivery.delivery_id, 1)

    [claimed] = await store.claim(NOW, limit=1, lease=LEASE)
    assert (claimed.plan, claimed.plan_step) == ('["comment", "patch"]', 1)


async def test_failed_deliveries_are_listed_and_can_be_retried(
    store: SqliteDeliveryStore,
) -> None:
    kept, failed = new_delivery(None), new_delivery(None)
    await store.add(kept)
    await store.add(failed)
    await store.fail(failed.delivery_id, error="RuntimeError: boom")

    [listed] = await store.list_failed()
    assert (listed.delivery_id, listed.last_error, listed.attempts) == (
        failed.delivery_id,
        "RuntimeError: boom",
        1,
    )
    assert await store.retry_failed(kept.delivery_id) is False
    assert await store.retry_failed(failed.delivery_id) is True
    assert await store.list_failed() == []
    retried = await store.get(failed.delivery_id)
    assert retried is not None
    assert (retried.status, retried.attempts) == (DeliveryStatus.PENDING, 0)


async def test_known_ids_answers_which_deliveries_are_stored(store: SqliteDeliveryStore) -> None:
    stored = new_delivery(None, delivery_id="x'); DROP TABLE deliveries; --")
    await store.add(stored)

    assert await store.known_ids([]) == set()
    assert await store.known_ids([stored.delivery_id, "missing"]) == {stored.delivery_id}


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
        claimed = await reopened.claim(NOW, limit=10, lease=LEASE)
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
