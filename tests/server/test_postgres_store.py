"""What the PostgreSQL backend does beyond the store's contract
(tests/server/test_store_contract.py): several stores, as several processes would hold them, on
one database; its migrations; a server it cannot reach."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from app.server.postgres_schema import SCHEMA_VERSION
from app.server.postgres_store import PostgresDeliveryStore
from app.server.store import Delivery, DeliveryStatus, StoreUnavailable, redacted
from tests.postgres import TEST_DATABASE_URL, Schemas
from tests.server.helpers import new_delivery

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


@contextlib.asynccontextmanager
async def stores(url: str, count: int) -> AsyncIterator[list[PostgresDeliveryStore]]:
    opened = [PostgresDeliveryStore(url) for _ in range(count)]
    try:
        yield opened
    finally:
        for store in opened:
            await store.close()


def schema_version(url: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute("SELECT version FROM schema_version").fetchone()
    assert row is not None
    return int(row[0])


async def test_stores_claiming_at_once_never_run_two_deliveries_of_an_issue_together(
    postgres: Schemas,
) -> None:
    """Three stores (three processes, each with two loops claiming) claim, handle and finish as
    fast as they can; a delivery runs only after the one before it in its issue finished,
    wherever each ran."""
    issues = [f"o/r#{number}" for number in range(6)]
    deliveries = [new_delivery(issues[n % len(issues)]) for n in range(120)]
    running: set[str] = set()
    handled: dict[str, list[str]] = {issue: [] for issue in issues}
    overlaps: list[str] = []

    async def work(store: PostgresDeliveryStore) -> None:
        idle = 0
        while idle < 3:
            claimed = (await store.claim(NOW, limit=4, lease=LEASE)).deliveries
            idle = 0 if claimed else idle + 1
            await asyncio.gather(*(handle(store, delivery) for delivery in claimed))

    async def handle(store: PostgresDeliveryStore, first: Delivery) -> None:
        delivery: Delivery | None = first
        while delivery is not None:
            issue = str(delivery.issue_key)
            if issue in running:
                overlaps.append(delivery.delivery_id)
            running.add(issue)
            await asyncio.sleep(0.001)
            handled[issue].append(delivery.delivery_id)
            running.discard(issue)
            delivery = await store.finish_and_claim_next(
                [delivery.delivery_id], issue, NOW, lease=LEASE
            )

    async with stores(postgres.new_url(), 3) as opened:
        await asyncio.gather(*(opened[0].add(delivery) for delivery in deliveries))
        await asyncio.gather(*(work(store) for store in opened for _ in range(2)))
        left = await opened[0].list_deliveries({DeliveryStatus.PENDING, DeliveryStatus.RUNNING})

    assert overlaps == []
    assert left == []
    for issue in issues:
        assert handled[issue] == [d.delivery_id for d in deliveries if d.issue_key == issue]


async def test_a_claim_whose_lease_ends_is_taken_over_with_its_journaled_plan(
    postgres: Schemas,
) -> None:
    async with stores(postgres.new_url(), 2) as (dead, alive):
        delivery, behind = new_delivery("o/r#1"), new_delivery("o/r#1")
        await dead.add(delivery)
        await dead.add(behind)
        [claimed] = (await dead.claim(NOW, limit=5, lease=LEASE)).deliveries
        await dead.save_plan(claimed.delivery_id, '["comment", "patch"]')
        await dead.advance_plan(claimed.delivery_id, 1)
        # The first process dies here: nothing releases its claim.
        assert await alive.release_running() == 0
        before = (await alive.claim(NOW + LEASE / 2, limit=5, lease=LEASE)).deliveries
        after = (await alive.claim(NOW + LEASE, limit=5, lease=LEASE)).deliveries

    assert before == []
    [resumed] = after
    assert resumed.delivery_id == delivery.delivery_id
    assert (resumed.plan, resumed.plan_step) == ('["comment", "patch"]', 1)
    assert resumed.lease_until == NOW + 2 * LEASE


async def test_a_delivery_is_stored_once_whichever_stores_receive_it(postgres: Schemas) -> None:
    deliveries = [new_delivery(f"o/r#{n % 3}") for n in range(40)]
    async with stores(postgres.new_url(), 3) as opened:
        added = await asyncio.gather(
            *(store.add(delivery) for delivery in deliveries for store in opened)
        )
        stored = await opened[0].list_deliveries({DeliveryStatus.PENDING})

    per_delivery = [added[n * 3 : n * 3 + 3] for n in range(len(deliveries))]
    assert [sorted(results) for results in per_delivery] == [[False, False, True]] * 40
    assert sorted(d.delivery_id for d in stored) == sorted(d.delivery_id for d in deliveries)


async def test_a_delivery_committed_late_waits_for_the_one_running_in_its_issue(
    postgres: Schemas,
) -> None:
    """Another process took a sequence number before this one but committed after it: the
    earlier-numbered delivery does not run beside the one already running."""
    url = postgres.new_url()
    late, early = new_delivery("o/r#1"), new_delivery("o/r#1")
    async with stores(url, 1) as [store]:
        with psycopg.connect(url) as other:  # a transaction left open
            other.execute(
                "INSERT INTO deliveries (delivery_id, event, action, issue_key, body,"
                " received_at) VALUES (%s, 'issue_comment', 'created', 'o/r#1', '{}', %s)",
                (late.delivery_id, NOW),
            )
            await store.add(early)
            [running] = (await store.claim(NOW, limit=5, lease=LEASE)).deliveries
            other.commit()
        while_running = (await store.claim(NOW, limit=5, lease=LEASE)).deliveries
        following = await store.finish_and_claim_next(
            [running.delivery_id], "o/r#1", NOW, lease=LEASE
        )

    assert running.delivery_id == early.delivery_id
    assert while_running == []
    assert following is not None and following.delivery_id == late.delivery_id


async def test_the_store_works_on_after_the_server_drops_its_connections(
    postgres: Schemas,
) -> None:
    """As after a restart or a failover of the database: no write fails for it."""
    async with stores(postgres.new_url(), 1) as [store]:
        before = new_delivery("o/r#1")
        await store.add(before)
        async with store._connection() as db:
            pid = db.info.backend_pid
        with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        after = new_delivery("o/r#1")
        added = await store.add(after)
        counts = await store.counts()

    assert added
    assert counts[DeliveryStatus.PENDING] == 2


def test_stores_starting_at_once_migrate_the_database_once(postgres: Schemas) -> None:
    url = postgres.new_url()
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            PostgresDeliveryStore(url)  # migrates as it is created; its pool opens at first use
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert schema_version(url) == SCHEMA_VERSION


def test_a_database_of_a_newer_baton_is_refused(postgres: Schemas) -> None:
    url = postgres.new_url()
    PostgresDeliveryStore(url)
    with psycopg.connect(url) as db:
        db.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))

    with pytest.raises(StoreUnavailable, match="newer Baton"):
        PostgresDeliveryStore(url)
    assert schema_version(url) == SCHEMA_VERSION + 1


def test_a_server_that_cannot_be_reached_is_refused_without_the_password() -> None:
    url = "postgresql://baton:hunter2@127.0.0.1:1/baton"

    with pytest.raises(StoreUnavailable) as refused:
        PostgresDeliveryStore(url, wait=timedelta(seconds=1))

    assert "hunter2" not in str(refused.value)
    assert str(refused.value).startswith(
        "cannot open the delivery store postgresql://baton:***@127.0.0.1:1/baton: "
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://baton@db/baton", "postgresql://baton@db/baton"),
        (
            "postgres://baton:s3cret@db:5433/baton?sslmode=require",
            "postgres://baton:***@db:5433/baton?sslmode=require",
        ),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redacted(url) == shown
