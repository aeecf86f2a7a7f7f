from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvloop

from app.server.metrics import Metrics
from app.server.sqlite_store import SqliteDeliveryStore
from app.server.store import Claim, Delivery, DeliveryStatus
from app.server.worker import Reschedule, Worker, exponential_backoff, store_backoff
from tests.server.helpers import locked, new_delivery, one_at_a_time, until


class ManualClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def run_until_idle(worker: Worker) -> None:
    await asyncio.wait_for(worker.idle(), 5)


async def add_all(store: SqliteDeliveryStore, issues: list[str | None]) -> list[str]:
    ids = []
    for issue in issues:
        delivery = new_delivery(issue)
        await store.add(delivery)
        ids.append(delivery.delivery_id)
    return ids


async def test_each_issue_is_processed_in_order_one_at_a_time(
    store: SqliteDeliveryStore,
) -> None:
    issues = ["o/r#1"] * 25 + ["o/r#2"] * 25 + [None] * 10
    random.Random(7).shuffle(issues)
    ids = await add_all(store, issues)
    running: set[str | None] = set()
    order: dict[str | None, list[str]] = {}
    overlap = []

    async def process(delivery: Delivery) -> None:
        if delivery.issue_key is not None:
            overlap.append(delivery.issue_key in running)
            running.add(delivery.issue_key)
        await asyncio.sleep(random.uniform(0, 0.003))
        order.setdefault(delivery.issue_key, []).append(delivery.delivery_id)
        running.discard(delivery.issue_key)

    worker = Worker(store, one_at_a_time(process), concurrency=8)
    worker.start()
    await run_until_idle(worker)
    await worker.stop()

    for issue in {"o/r#1", "o/r#2"}:
        expected = [i for i, key in zip(ids, issues, strict=True) if key == issue]
        assert order[issue] == expected
    assert sorted(order[None]) == sorted(i for i, k in zip(ids, issues, strict=True) if k is None)
    assert not any(overlap)
    assert set((await store.counts()).values()) == {0}


async def test_a_slow_issue_does_not_hold_back_the_others(store: SqliteDeliveryStore) -> None:
    slow_ids = await add_all(store, ["o/r#1", "o/r#1"])
    fast_ids = await add_all(store, ["o/r#2", "o/r#3", "o/r#2", None])
    release = asyncio.Event()
    done: list[str] = []

    async def process(delivery: Delivery) -> None:
        if delivery.issue_key == "o/r#1":
            await release.wait()
        done.append(delivery.delivery_id)

    worker = Worker(store, one_at_a_time(process), concurrency=4)
    worker.start()
    await until(lambda: len(done) == len(fast_ids), "the other issues' deliveries are done")

    assert sorted(done) == sorted(fast_ids)
    release.set()
    await run_until_idle(worker)
    await worker.stop()
    assert done[-2:] == slow_ids


async def test_a_rescheduled_delivery_runs_only_when_due(store: SqliteDeliveryStore) -> None:
    clock = ManualClock()
    [delivery_id] = await add_all(store, ["o/r#1"])
    calls: list[datetime] = []

    async def process(delivery: Delivery) -> None:
        calls.append(clock())
        if len(calls) == 1:
            raise Reschedule(timedelta(minutes=30), "secondary rate limit")

    worker = Worker(store, one_at_a_time(process), clock=clock)
    worker.start()
    await run_until_idle(worker)
    clock.now += timedelta(minutes=29)
    worker.notify()
    await run_until_idle(worker)
    assert len(calls) == 1

    clock.now += timedelta(minutes=1)
    worker.notify()
    await run_until_idle(worker)
    await worker.stop()

    assert calls[1] - calls[0] == timedelta(minutes=30)
    stored = await store.get(delivery_id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.reschedules) == (DeliveryStatus.DONE, 0, 1)


async def test_the_timer_wakes_the_worker_for_a_rescheduled_delivery(
    store: SqliteDeliveryStore,
) -> None:
    await add_all(store, ["o/r#1"])
    finished = asyncio.Event()
    calls = 0

    async def process(delivery: Delivery) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Reschedule(timedelta(milliseconds=50), "wait a moment")
        finished.set()

    worker = Worker(store, one_at_a_time(process))
    worker.start()
    await asyncio.wait_for(finished.wait(), 2)
    await worker.stop()
    assert calls == 2


async def test_a_delivery_that_keeps_failing_is_kept_as_failed_and_can_be_retried(
    store: SqliteDeliveryStore,
) -> None:
    metrics = Metrics()
    [delivery_id] = await add_all(store, ["o/r#1"])
    healthy = False
    calls = 0

    async def process(delivery: Delivery) -> None:
        nonlocal calls
        calls += 1
        if not healthy:
            raise RuntimeError("GitHub answered 502")

    worker = Worker(
        store,
        one_at_a_time(process),
        max_attempts=3,
        backoff=lambda _: timedelta(0),
        metrics=metrics,
    )
    worker.start()
    await run_until_idle(worker)

    [failed] = await store.list_deliveries({DeliveryStatus.FAILED})
    assert (failed.delivery_id, failed.attempts) == (delivery_id, 3)
    assert failed.last_error == "RuntimeError: GitHub answered 502"
    assert calls == 3
    assert b'baton_deliveries_failed_total{event="issue_comment"} 1.0' in metrics.render()

    healthy = True
    assert await store.retry_failed(delivery_id)
    worker.notify()
    await run_until_idle(worker)
    await worker.stop()

    assert calls == 4
    assert await store.list_deliveries({DeliveryStatus.FAILED}) == []
    assert b'baton_deliveries_processed_total{event="issue_comment"} 1.0' in metrics.render()


async def test_a_delivery_retried_from_another_process_is_found_without_a_notice(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "baton.db")
    store = SqliteDeliveryStore(path)
    [delivery_id] = await add_all(store, ["o/r#1"])
    await store.fail(delivery_id, error="RuntimeError: boom")
    processed = asyncio.Event()

    async def process(delivery: Delivery) -> None:
        processed.set()

    worker = Worker(store, one_at_a_time(process), idle_poll=timedelta(milliseconds=50))
    worker.start()
    try:
        await run_until_idle(worker)
        operator = SqliteDeliveryStore(path, exclusive=False)  # `baton deliveries retry`
        assert await operator.retry_failed(delivery_id)
        await operator.close()
        await asyncio.wait_for(processed.wait(), 5)
        await run_until_idle(worker)
    finally:
        await worker.stop()
        await store.close()


async def test_too_many_reschedules_end_as_failed(store: SqliteDeliveryStore) -> None:
    [delivery_id] = await add_all(store, [None])

    async def process(delivery: Delivery) -> None:
        raise Reschedule(timedelta(0), "still rate limited")

    worker = Worker(store, one_at_a_time(process), max_reschedules=4)
    worker.start()
    await run_until_idle(worker)
    await worker.stop()

    [failed] = await store.list_deliveries({DeliveryStatus.FAILED})
    assert failed.delivery_id == delivery_id
    assert failed.reschedules == 3
    assert failed.last_error is not None
    assert "still rate limited" in failed.last_error


async def test_unfinished_work_is_picked_up_after_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "baton.db")
    store = SqliteDeliveryStore(path)
    ids = await add_all(store, ["o/r#1", "o/r#1", "o/r#2", None])
    await store.claim(datetime.now(UTC), limit=2, lease=timedelta(hours=1))
    await store.close()

    reopened = SqliteDeliveryStore(path)
    processed: list[str] = []

    async def process(delivery: Delivery) -> None:
        processed.append(delivery.delivery_id)

    worker = Worker(reopened, one_at_a_time(process), concurrency=1)
    worker.start()
    await run_until_idle(worker)
    await worker.stop()
    counts = await reopened.counts()
    await reopened.close()

    assert processed == ids
    assert set(counts.values()) == {0}


async def test_a_plan_step_recorded_before_a_crash_is_seen_on_the_retry(
    store: SqliteDeliveryStore,
) -> None:
    await add_all(store, ["o/r#1"])
    seen: list[tuple[str | None, int]] = []

    async def process(delivery: Delivery) -> None:
        seen.append((delivery.plan, delivery.plan_step))
        if delivery.plan is None:
            await store.save_plan(delivery.delivery_id, "comment,patch")
            await store.advance_plan(delivery.delivery_id, 1)
            raise ConnectionError("lost the connection after the comment")

    worker = Worker(store, one_at_a_time(process), backoff=lambda _: timedelta(0))
    worker.start()
    await run_until_idle(worker)
    await worker.stop()

    assert seen == [(None, 0), ("comment,patch", 1)]


async def test_stop_lets_deliveries_in_flight_finish(store: SqliteDeliveryStore) -> None:
    [delivery_id] = await add_all(store, ["o/r#1"])
    entered = asyncio.Event()

    async def process(delivery: Delivery) -> None:
        entered.set()
        await asyncio.sleep(0.05)

    worker = Worker(store, one_at_a_time(process))
    worker.start()
    await asyncio.wait_for(entered.wait(), 2)
    await worker.stop()

    stored = await store.get(delivery_id)
    assert stored is not None
    assert stored.status is DeliveryStatus.DONE


def test_backoff_grows_and_is_capped() -> None:
    delays = [exponential_backoff(n) for n in range(1, 20)]
    assert delays[:3] == [timedelta(seconds=2), timedelta(seconds=4), timedelta(seconds=8)]
    assert delays == sorted(delays)
    assert max(delays) == timedelta(minutes=5)


class CountingStore(SqliteDeliveryStore):
    """The real store, counting the claims the worker makes."""

    claims = 0

    async def claim(self, now: datetime, *, limit: int, lease: timedelta) -> Claim:
        self.claims += 1
        return await super().claim(now, limit=limit, lease=lease)


async def test_a_busy_issue_s_deliveries_follow_each_other_without_new_claims() -> None:
    """Each end claims the next delivery of the same issue in the same transaction."""
    store = CountingStore(":memory:")
    ids = await add_all(store, ["o/r#1"] * 30)
    done: list[str] = []

    async def process(delivery: Delivery) -> None:
        done.append(delivery.delivery_id)

    worker = Worker(store, one_at_a_time(process))
    worker.start()
    await run_until_idle(worker)
    await worker.stop()
    await store.close()

    assert done == ids
    assert store.claims <= 3  # the first, and the look for more once the issue is empty


def every_delivery(event: str, action: str | None) -> bool:
    return True


async def runs_handed_over(
    store: SqliteDeliveryStore, handled: Callable[[list[list[str]]], int], **options: Any
) -> list[list[str]]:
    """Run a worker over the store until it is idle; each run's delivery ids, in order.
    `handled(runs so far)` says how many of the latest run `process` handled (or raises)."""
    runs: list[list[str]] = []

    async def process(run: Sequence[Delivery]) -> int:
        runs.append([d.delivery_id for d in run])
        return handled(runs)

    worker = Worker(store, process, joins=every_delivery, **options)
    worker.start()
    await run_until_idle(worker)
    await worker.stop()
    return runs


async def test_deliveries_queued_behind_each_other_are_handed_over_as_runs(
    store: SqliteDeliveryStore,
) -> None:
    ids = await add_all(store, ["o/r#1"] * 25)

    runs = await runs_handed_over(store, lambda runs: len(runs[-1]), longest_run=10)

    assert [len(run) for run in runs] == [10, 10, 5]
    assert [i for run in runs for i in run] == ids


async def test_what_a_run_did_not_handle_comes_back_next_in_order(
    store: SqliteDeliveryStore,
) -> None:
    ids = await add_all(store, ["o/r#1"] * 6)

    runs = await runs_handed_over(store, lambda runs: 2)  # e.g. the third could not be decided

    assert [run[:2] for run in runs] == [ids[0:2], ids[2:4], ids[4:6]]
    assert {d.status for d in [await store.get(i) for i in ids] if d} == {DeliveryStatus.DONE}


async def test_a_failing_run_retries_its_first_delivery_and_puts_the_rest_back(
    store: SqliteDeliveryStore,
) -> None:
    ids = await add_all(store, ["o/r#1"] * 3)

    def handled(runs: list[list[str]]) -> int:
        if len(runs) == 1:
            raise RuntimeError("GitHub answered 502")
        return len(runs[-1])

    runs = await runs_handed_over(store, handled, backoff=lambda _: timedelta(0))

    assert runs == [ids, ids]
    first = await store.get(ids[0])
    assert first is not None and first.attempts == 1
    rest = [await store.get(i) for i in ids[1:]]
    assert [d.attempts for d in rest if d] == [0, 0], "the others did not use up an attempt"


class SlowClock:
    """Wall-clock time running at `rate` of its speed: every timer the loop sets fires before
    this clock reaches the moment it was set for. uvloop's timers, rounded to milliseconds
    and counted from the loop's cached time, do that now and then; this does it every time."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._start = datetime.now(UTC)
        self._started = time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._started) * self.rate)


async def retry_lateness(clock: SlowClock, dues: Sequence[timedelta]) -> list[float | None]:
    """Deliveries (one per issue) that each fail once and are rescheduled to fall due `dues`
    after the first try, with no other traffic: how late (s, by the clock) each retry ran;
    None for one not retried by a second after the last was due."""
    store = SqliteDeliveryStore(":memory:")
    ids = await add_all(store, [f"o/r#{n}" for n in range(len(dues))])
    due_at: dict[str, datetime] = {}
    late: dict[str, float] = {}
    all_retried = asyncio.Event()

    async def process(delivery: Delivery) -> None:
        if delivery.delivery_id not in due_at:
            wait = dues[ids.index(delivery.delivery_id)]
            due_at[delivery.delivery_id] = clock() + wait
            raise Reschedule(wait, "GitHub answered 502")
        late[delivery.delivery_id] = (clock() - due_at[delivery.delivery_id]).total_seconds()
        if len(late) == len(ids):
            all_retried.set()

    worker = Worker(store, one_at_a_time(process), clock=clock, concurrency=len(ids))
    worker.start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_retried.wait(), max(dues).total_seconds() / clock.rate + 1)
    await worker.stop()
    await store.close()
    return [late.get(i) for i in ids]


def test_retries_run_when_due_under_uvloop_with_no_other_traffic() -> None:
    """The worker claims and learns the next due time in one step: a delivery falling due
    while it claims is not left asleep until some other delivery wakes the worker."""
    dues = [timedelta(milliseconds=150 * n) for n in range(1, 9)]

    lateness = uvloop.run(retry_lateness(SlowClock(rate=0.8), dues))

    # Lateness is how long the loop took to get round to it; 0.1 s is far more than that.
    # A retry left asleep shows up as None or as a whole stagger (0.15 s) late, or more.
    assert all(late is not None and late < 0.1 for late in lateness), lateness


def quick_retries(failures: int) -> timedelta:
    return timedelta(milliseconds=20)


async def test_a_worker_started_on_a_locked_store_waits_for_it_then_does_the_work(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "baton.db"
    store = SqliteDeliveryStore(str(path), busy_timeout=timedelta(milliseconds=50))
    ids = await add_all(store, ["o/r#1", "o/r#2"])
    await store.claim(datetime.now(UTC), limit=1, lease=timedelta(hours=1))  # before a crash
    processed: list[str] = []

    async def process(delivery: Delivery) -> None:
        processed.append(delivery.delivery_id)

    worker = Worker(store, one_at_a_time(process), retry_store=quick_retries)
    with locked(path):
        worker.start()
        await until(
            lambda: worker.trouble is not None and worker.trouble.failures >= 5,
            "the worker reports five failures to claim",
        )
        trouble = worker.trouble
        assert processed == []
    await run_until_idle(worker)
    await worker.stop()
    await store.close()

    assert processed == ids
    assert trouble is not None
    assert trouble.reason() == "claiming deliveries fails: OperationalError: database is locked"
    assert worker.trouble is None
    said = [r.getMessage() for r in caplog.records if r.name == "app.server.health"]
    assert len(said) == 2, "a streak of failures is told once, and its end once"
    assert said[0].startswith("claiming deliveries fails (OperationalError: database is locked)")
    assert said[1].startswith("claiming deliveries works again, after")


async def test_a_delivery_whose_outcome_could_not_be_recorded_runs_again_once_the_store_works(
    tmp_path: Path,
) -> None:
    path = tmp_path / "baton.db"
    store = SqliteDeliveryStore(str(path), busy_timeout=timedelta(milliseconds=50))
    [delivery_id] = await add_all(store, ["o/r#1"])
    lock = contextlib.ExitStack()
    handled: list[str] = []

    async def process(delivery: Delivery) -> None:
        handled.append(delivery.delivery_id)
        if len(handled) == 1:
            lock.enter_context(locked(path))  # the store fails before the end is recorded

    worker = Worker(store, one_at_a_time(process), retry_store=quick_retries)
    worker.start()
    await until(lambda: worker.trouble is not None, "the worker reports trouble")
    lock.close()
    await until(lambda: len(handled) == 2, "the delivery runs again, long before its lease ends")
    await run_until_idle(worker)
    await worker.stop()
    stored = await store.get(delivery_id)
    await store.close()

    assert handled == [delivery_id, delivery_id]
    assert stored is not None and stored.status is DeliveryStatus.DONE


def test_store_retries_grow_and_are_capped() -> None:
    delays = [store_backoff(n) for n in range(1, 20)]
    assert delays[:3] == [timedelta(seconds=0.5), timedelta(seconds=1), timedelta(seconds=2)]
    assert delays == sorted(delays)
    assert max(delays) == timedelta(seconds=30)
