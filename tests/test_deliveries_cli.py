"""`baton deliveries`: operators list, retry and prune the stored deliveries."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.server.postgres_store import PostgresDeliveryStore
from app.server.sqlite_store import SqliteDeliveryStore
from app.server.store import DeliveryStatus, DeliveryStore
from tests.postgres import Schemas
from tests.server.helpers import new_delivery

NOW = datetime.now(UTC)


def baton(database: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    environ = {
        key: value for key, value in os.environ.items() if not key.startswith(("GITHUB_", "BATON_"))
    }
    environ["BATON_DATABASE_URL"] = f"sqlite:///{database}"
    environ.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "app", "deliveries", *args],
        env=environ,
        cwd=database.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "baton.db"


@pytest.fixture
async def store(database: Path) -> AsyncIterator[SqliteDeliveryStore]:
    """The store a test prepares; open without the process lock, as beside a running server."""
    opened = SqliteDeliveryStore(str(database), exclusive=False)
    yield opened
    await opened.close()


async def add(
    store: DeliveryStore,
    delivery_id: str,
    status: DeliveryStatus,
    *,
    days_ago: float = 0,
    error: str = "RuntimeError: GitHub answered 502",
) -> None:
    received = NOW - timedelta(days=days_ago)
    delivery = replace(new_delivery("octo/hello#7", delivery_id=delivery_id), received_at=received)
    await store.add(delivery)
    if status is DeliveryStatus.DONE:
        await store.finish(delivery_id)
    elif status is DeliveryStatus.FAILED:
        await store.fail(delivery_id, error=error)


async def status_of(store: DeliveryStore, delivery_id: str) -> DeliveryStatus | None:
    delivery = await store.get(delivery_id)
    return None if delivery is None else delivery.status


async def test_list_failed_shows_each_failed_delivery_and_why(
    store: SqliteDeliveryStore, database: Path
) -> None:
    await add(store, "d-failed-1", DeliveryStatus.FAILED, error="RuntimeError: boom\nmore")
    await add(store, "d-failed-2", DeliveryStatus.FAILED)
    await add(store, "d-pending", DeliveryStatus.PENDING)
    await add(store, "d-done", DeliveryStatus.DONE)

    failed = baton(database, "list", "--failed")
    waiting = baton(database, "list")

    assert (failed.returncode, failed.stderr) == (0, "")
    lines = failed.stdout.splitlines()
    assert lines[0] == "2 failed deliveries"
    assert lines[1].split() == [
        "ID",
        "STATUS",
        "EVENT",
        "ISSUE",
        "RECEIVED",
        "ATTEMPTS",
        "LAST",
        "ERROR",
    ]
    assert lines[2].split()[:4] == ["d-failed-1", "failed", "issue_comment.created", "octo/hello#7"]
    assert lines[2].endswith("RuntimeError: boom")  # the first line of the error
    assert lines[3].endswith("RuntimeError: GitHub answered 502")
    assert len(lines) == 4
    listed = [line.split()[0] for line in waiting.stdout.splitlines()[2:]]
    assert waiting.stdout.splitlines()[0] == "3 deliveries waiting, running or failed"
    assert listed == ["d-failed-1", "d-failed-2", "d-pending"]


async def test_list_says_so_when_there_is_nothing(
    store: SqliteDeliveryStore, database: Path
) -> None:
    await add(store, "d-done", DeliveryStatus.DONE)

    listed = baton(database, "list", "--failed")

    assert (listed.returncode, listed.stdout, listed.stderr) == (0, "No failed deliveries.\n", "")


async def test_retry_one_makes_it_pending_again(store: SqliteDeliveryStore, database: Path) -> None:
    await add(store, "d-failed-1", DeliveryStatus.FAILED)
    await add(store, "d-failed-2", DeliveryStatus.FAILED)

    retried = baton(database, "retry", "d-failed-1")

    assert (retried.returncode, retried.stderr) == (0, "")
    assert retried.stdout.startswith("Delivery d-failed-1 is pending again")
    assert await status_of(store, "d-failed-1") is DeliveryStatus.PENDING
    assert await status_of(store, "d-failed-2") is DeliveryStatus.FAILED


async def test_retry_failed_makes_every_failed_delivery_pending_again(
    store: SqliteDeliveryStore, database: Path
) -> None:
    for delivery_id in ("d-1", "d-2", "d-3"):
        await add(store, delivery_id, DeliveryStatus.FAILED)
    await add(store, "d-done", DeliveryStatus.DONE)

    retried = baton(database, "retry", "--failed")

    assert (retried.returncode, retried.stderr) == (0, "")
    assert retried.stdout.startswith("3 deliveries are pending again")
    assert [await status_of(store, d) for d in ("d-1", "d-2", "d-3", "d-done")] == [
        DeliveryStatus.PENDING,
        DeliveryStatus.PENDING,
        DeliveryStatus.PENDING,
        DeliveryStatus.DONE,
    ]


async def test_retry_of_an_unknown_or_unfailed_delivery_is_one_line(
    store: SqliteDeliveryStore, database: Path
) -> None:
    await add(store, "d-done", DeliveryStatus.DONE)

    unknown = baton(database, "retry", "d-nowhere")
    done = baton(database, "retry", "d-done")

    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr == f"baton: no delivery d-nowhere in the delivery store {database}\n"
    assert (done.returncode, done.stdout) == (1, "")
    assert (
        done.stderr == "baton: delivery d-done is done, not failed: only failed ones are retried\n"
    )
    assert await status_of(store, "d-done") is DeliveryStatus.DONE


async def test_prune_deletes_the_done_deliveries_past_the_retention_period(
    store: SqliteDeliveryStore, database: Path
) -> None:
    await add(store, "d-old-done", DeliveryStatus.DONE, days_ago=8)
    await add(store, "d-old-failed", DeliveryStatus.FAILED, days_ago=30)
    await add(store, "d-young-done", DeliveryStatus.DONE, days_ago=6)
    await add(store, "d-older-done", DeliveryStatus.DONE, days_ago=12)

    pruned = baton(database, "prune")
    longer = baton(database, "prune", BATON_RETENTION_DAYS="10")  # nothing left that old

    assert (pruned.returncode, pruned.stderr) == (0, "")
    assert pruned.stdout.startswith("Deleted 2 done deliveries received more than 7 days ago")
    assert longer.stdout.startswith("Deleted 0 done deliveries received more than 10 days ago")
    assert await store.known_ids(
        ["d-old-done", "d-old-failed", "d-young-done", "d-older-done"]
    ) == {
        "d-old-failed",
        "d-young-done",
    }


async def test_the_commands_work_while_a_server_holds_the_store(database: Path) -> None:
    server = SqliteDeliveryStore(str(database))  # holds baton.db.lock, as `baton serve` does
    try:
        await add(server, "d-failed", DeliveryStatus.FAILED)
        retried = baton(database, "retry", "d-failed")
        assert await status_of(server, "d-failed") is DeliveryStatus.PENDING
    finally:
        await server.close()

    assert (retried.returncode, retried.stderr) == (0, "")


def test_a_missing_database_is_one_line_and_is_not_created(database: Path) -> None:
    listed = baton(database, "list")

    assert (listed.returncode, listed.stdout) == (1, "")
    assert listed.stderr.startswith(f"baton: no delivery store at {database}")
    assert listed.stderr.count("\n") == 1
    assert not database.exists()


def test_a_database_url_baton_cannot_use_is_one_line(database: Path) -> None:
    listed = baton(database, "list", BATON_DATABASE_URL="mysql://baton:hunter2@db/baton")

    assert (listed.returncode, listed.stdout) == (2, "")
    assert listed.stderr.startswith(
        "baton: BATON_DATABASE_URL: Baton stores deliveries in SQLite or PostgreSQL"
    )
    assert "hunter2" not in listed.stderr
    assert listed.stderr.count("\n") == 1


async def test_the_commands_work_on_a_postgresql_store(database: Path, postgres: Schemas) -> None:
    url = postgres.new_url()
    store = PostgresDeliveryStore(url)
    try:
        await add(store, "d-failed-1", DeliveryStatus.FAILED)
        listed = baton(database, "list", "--failed", BATON_DATABASE_URL=url)
        retried = baton(database, "retry", "d-failed-1", BATON_DATABASE_URL=url)
        status = await status_of(store, "d-failed-1")
    finally:
        await store.close()

    assert (listed.returncode, listed.stderr) == (0, "")
    assert listed.stdout.splitlines()[0] == "1 failed delivery"
    assert (retried.returncode, retried.stderr) == (0, "")
    assert status is DeliveryStatus.PENDING


def test_a_postgresql_server_out_of_reach_is_one_line_without_the_password(
    database: Path,
) -> None:
    url = "postgresql://baton:hunter2@127.0.0.1:1/baton"

    listed = baton(database, "list", BATON_DATABASE_URL=url)

    assert (listed.returncode, listed.stdout) == (5, "")
    assert listed.stderr.startswith(
        "baton: cannot open the delivery store postgresql://baton:***@127.0.0.1:1/baton: "
    )
    assert "hunter2" not in listed.stderr
    assert listed.stderr.count("\n") == 1


@pytest.mark.parametrize("days", ["2", "seven", "-1"])
async def test_a_retention_too_short_or_not_a_number_is_refused_in_one_line(
    store: SqliteDeliveryStore, database: Path, days: str
) -> None:
    await add(store, "d-done", DeliveryStatus.DONE, days_ago=3)

    pruned = baton(database, "prune", BATON_RETENTION_DAYS=days)

    assert pruned.returncode == 2
    assert pruned.stderr.startswith(
        f"baton: BATON_RETENTION_DAYS={days!r}: expected a whole number"
    )
    assert pruned.stderr.count("\n") == 1
    assert await status_of(store, "d-done") is DeliveryStatus.DONE
