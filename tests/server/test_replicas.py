"""Several processes on one PostgreSQL database, each with its own store (as `baton serve`
processes hold them): leases renewed while a delivery is worked on and taken over when its
process dies, jobs run by one process at a time, configuration changes heard by every process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import psycopg

from app.config import load_config
from app.github.config_source import ConfigCache
from app.jobs.config_changes import ConfigChanges
from app.jobs.periodic import JobLease, Periodic
from app.server.store import Delivery, DeliveryStatus, DeliveryStore
from app.server.worker import Worker, utc_now
from tests.postgres import Schemas
from tests.server.helpers import new_delivery
from tests.server.test_postgres_store import stores

SHORT_LEASE = timedelta(seconds=0.6)


def kill(worker: Worker) -> None:
    """As SIGKILL leaves its work in the store: every task ends, nothing is written."""
    tasks = [worker._loop_task, worker._renewal_task, *worker._in_flight.values()]
    for task in tasks:
        if task is not None:
            task.cancel()


async def eventually(condition: object, *, within: float) -> float:
    """Seconds until `condition()` holds; fails after `within`."""
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - started < within, f"not within {within} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_delivery_worked_on_longer_than_its_lease_stays_with_its_worker(
    postgres: Schemas,
) -> None:
    handled: Counter[str] = Counter()

    async def slowly(run: Sequence[Delivery]) -> int:
        handled[run[0].delivery_id] += 1
        await asyncio.sleep(SHORT_LEASE.total_seconds() * 4)
        return 1

    async with stores(postgres.new_url(), 2) as (first, second):
        workers = [Worker(store, slowly, lease=SHORT_LEASE) for store in (first, second)]
        delivery = new_delivery("o/r#1")
        await first.add(delivery)
        workers[0].start()
        await eventually(lambda: handled, within=5)
        workers[1].start()
        workers[1].notify()
        await asyncio.sleep(SHORT_LEASE.total_seconds() * 4)
        for worker in workers:
            await worker.stop()
        stored = await first.get(delivery.delivery_id)

    assert handled == {delivery.delivery_id: 1}
    assert stored is not None and stored.status == DeliveryStatus.DONE


async def test_the_work_of_a_worker_that_died_is_taken_up_within_a_lease(
    postgres: Schemas,
) -> None:
    """The survivor is not told: it wakes up when the dead worker's lease ends."""
    started: list[tuple[str, str]] = []
    hang = asyncio.Event()

    def worker_named(name: str, store: DeliveryStore) -> Worker:
        async def process(run: Sequence[Delivery]) -> int:
            started.append((name, run[0].delivery_id))
            if name == "dying":
                await hang.wait()
            return 1

        return Worker(store, process, lease=SHORT_LEASE, idle_poll=timedelta(seconds=60))

    async with stores(postgres.new_url(), 2) as (one, other):
        dying, surviving = worker_named("dying", one), worker_named("surviving", other)
        delivery = new_delivery("o/r#1")
        await one.add(delivery)
        dying.start()
        await eventually(lambda: started, within=5)
        surviving.start()
        await asyncio.sleep(SHORT_LEASE.total_seconds() * 2)  # renewed meanwhile
        assert started == [("dying", delivery.delivery_id)]
        kill(dying)
        waited = await eventually(lambda: len(started) == 2, within=5)
        await surviving.stop()
        stored = await other.get(delivery.delivery_id)

    assert started[1] == ("surviving", delivery.delivery_id)
    assert waited <= SHORT_LEASE.total_seconds() + 0.5
    assert stored is not None and stored.status == DeliveryStatus.DONE


@contextlib.asynccontextmanager
async def running(periodic: Periodic) -> AsyncIterator[Periodic]:
    await periodic.start()
    try:
        yield periodic
    finally:
        await periodic.stop()


async def test_a_job_runs_on_one_process_at_a_time_and_is_taken_over_when_it_dies(
    postgres: Schemas,
) -> None:
    every, lease = 0.1, timedelta(seconds=0.6)
    runs: list[str] = []

    def periodic(name: str, store: DeliveryStore) -> Periodic:
        async def job() -> None:
            runs.append(name)

        held = JobLease(store, "sweep", holder=name, clock=utc_now, lease=lease)
        return Periodic(job, every, at_start=True, name=name, lease=held)

    async with (
        stores(postgres.new_url(), 2) as (one, other),
        running(periodic("first", one)) as first,
    ):
        await asyncio.sleep(0.05)  # the first to start takes the job
        async with running(periodic("second", other)):
            await asyncio.sleep(every * 10)
            together = Counter(runs)
            assert first._task is not None and first._lease is not None
            first._task.cancel()  # dies: its lease is neither renewed nor given up
            first._lease._task.cancel()  # type: ignore[union-attr]
            runs.clear()
            waited = await eventually(lambda: runs, within=5)
            await asyncio.sleep(every * 5)
            after = Counter(runs)

    assert set(together) == {"first"} and together["first"] >= 5
    assert set(after) == {"second"}
    assert waited <= lease.total_seconds() * (1 + 1 / 3) + 0.3


async def test_a_process_that_stops_hands_its_jobs_over_at_once(postgres: Schemas) -> None:
    lease = timedelta(seconds=30)
    async with stores(postgres.new_url(), 2) as (one, other):
        leaving = JobLease(one, "redelivery", holder="leaving", clock=utc_now, lease=lease)
        staying = JobLease(other, "redelivery", holder="staying", clock=utc_now, lease=lease)
        await leaving.start()
        assert leaving.held
        assert not await staying.hold()
        await leaving.stop()

        assert await staying.hold()


async def test_a_configuration_pushed_to_one_process_is_forgotten_by_every_process(
    postgres: Schemas,
) -> None:
    url = postgres.new_url()
    async with stores(url, 2) as (one, other):
        caches = [ConfigCache(), ConfigCache()]
        changes = [
            ConfigChanges(store, cache) for store, cache in zip((one, other), caches, strict=True)
        ]
        for cache in caches:
            for repo in ("acme/web", "acme/api"):
                cache._entries[repo] = await load_config(no_file, *repo.split("/"))
        for change in changes:
            change.start()
        await eventually(lambda: listeners(url) == 2, within=5)

        changes[0].pushed("Acme/Web")
        await eventually(lambda: caches[1].peek("acme/web") is None, within=2)
        for change in changes:
            await change.stop()

    assert [cache.peek("acme/web") for cache in caches] == [None, None]
    assert all(cache.peek("acme/api") is not None for cache in caches)


async def no_file(owner: str, repo: str, path: str) -> str | None:
    return None


def listeners(url: str) -> int:
    """How many connections listen for the configuration changes of the store at `url`."""
    with psycopg.connect(url, autocommit=True) as db:
        found = db.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE query LIKE 'LISTEN %' || md5(current_schema()) || '%'"
        ).fetchone()
    return 0 if found is None else int(found[0])
