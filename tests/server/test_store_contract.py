"""The delivery store's contract (app/server/store.py), held to both backends: SQLite and
PostgreSQL. Each test opens its own database (a file, or a schema of the test server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.server.databases import open_store
from app.server.store import Claim, DeliveryStatus, DeliveryStore, NewDelivery
from tests.postgres import Schemas
from tests.server.helpers import new_delivery

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Backend:
    name: str
    new_url: Callable[[], str]  # an empty database of its own


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, postgres: Schemas) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", lambda: f"sqlite:///{tmp_path / f'baton-{uuid4().hex}.db'}")
    return Backend("postgresql", postgres.new_url)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[DeliveryStore]:
    opened = open_store(backend.new_url())
    yield opened
    await opened.close()


async def test_a_claim_takes_the_first_unfinished_delivery_of_each_issue(
    store: DeliveryStore,
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
    store: DeliveryStore,
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


async def test_an_expired_lease_can_be_claimed_again(store: DeliveryStore) -> None:
    delivery = new_delivery("o/r#1")
    await store.add(delivery)
    await store.claim(NOW, limit=1, lease=LEASE)

    assert (await store.claim(NOW + LEASE / 2, limit=1, lease=LEASE)).deliveries == []
    reclaimed = (await store.claim(NOW + LEASE, limit=1, lease=LEASE)).deliveries
    assert [d.delivery_id for d in reclaimed] == [delivery.delivery_id]


async def test_a_renewed_lease_holds_its_delivery_until_the_renewal_ends(
    store: DeliveryStore,
) -> None:
    running, finished, other = (new_delivery(k) for k in ["o/r#1", "o/r#2", "o/r#3"])
    for delivery in (running, finished, other):
        await store.add(delivery)
    await store.claim(NOW, limit=2, lease=LEASE)
    await store.finish(finished.delivery_id)

    await store.renew([running.delivery_id, finished.delivery_id], NOW + 2 * LEASE)

    renewed, done, waiting = [await store.get(d.delivery_id) for d in (running, finished, other)]
    assert renewed is not None and renewed.lease_until == NOW + 2 * LEASE
    assert done is not None and (done.status, done.lease_until) == (DeliveryStatus.DONE, None)
    assert waiting is not None and (waiting.status, waiting.lease_until) == (
        DeliveryStatus.PENDING,
        None,
    )
    claimed = (await store.claim(NOW + LEASE, limit=5, lease=LEASE)).deliveries
    assert [d.delivery_id for d in claimed] == [other.delivery_id]  # not the renewed one
    await store.finish(other.delivery_id)
    reclaimed = (await store.claim(NOW + 2 * LEASE, limit=5, lease=LEASE)).deliveries
    assert [d.delivery_id for d in reclaimed] == [running.delivery_id]


async def test_the_end_of_a_lease_is_when_a_claim_is_next_due(store: DeliveryStore) -> None:
    """A worker waiting for work wakes up when a lease ends: the work of a process that died
    is taken up within one lease."""
    delivery = new_delivery("o/r#1")
    await store.add(delivery)
    await store.claim(NOW, limit=1, lease=LEASE)

    assert await store.claim(NOW + LEASE / 2, limit=1, lease=LEASE) == Claim([], NOW + LEASE)


async def test_a_job_is_held_by_one_holder_until_its_lease_ends_or_it_is_released(
    store: DeliveryStore,
) -> None:
    later = NOW + LEASE

    assert await store.hold_job("sweep", "a", NOW, later)
    assert not await store.hold_job("sweep", "b", NOW, later)
    assert await store.hold_job("redelivery", "b", NOW, later)  # each job its own lease
    assert await store.hold_job("sweep", "a", NOW + LEASE / 2, later + LEASE / 2)  # renewed
    assert not await store.hold_job("sweep", "b", later, later + LEASE)
    assert await store.hold_job("sweep", "b", later + LEASE / 2, later + LEASE)  # a's ended
    assert not await store.hold_job("sweep", "a", later + LEASE / 2, later + LEASE)
    await store.release_job("sweep", "a")  # not its holder: nothing changes
    assert not await store.hold_job("sweep", "c", later + LEASE / 2, later + LEASE)
    await store.release_job("sweep", "b")
    assert await store.hold_job("sweep", "c", later + LEASE / 2, later + LEASE)


async def test_the_plan_journal_is_kept_with_the_delivery(store: DeliveryStore) -> None:
    delivery = new_delivery("o/r#1")
    await store.add(delivery)
    await store.save_plan(delivery.delivery_id, '["comment", "patch"]')
    await store.advance_plan(delivery.delivery_id, 1)

    [claimed] = (await store.claim(NOW, limit=1, lease=LEASE)).deliveries
    assert (claimed.plan, claimed.plan_step) == ('["comment", "patch"]', 1)


def comments_only(event: str, action: str | None) -> bool:
    return (event, action) == ("issue_comment", "created")


async def test_only_the_last_body_written_of_each_issue_is_kept(store: DeliveryStore) -> None:
    assert await store.last_write("acme/web#1") is None
    await store.record_write("acme/web#1", "first body", "digest of what it replaced")
    await store.record_write("acme/web#1", "second body", "digest of the first body")
    await store.record_write("acme/web#2", "another issue", "its digest")

    assert await store.last_write("acme/web#1") == ("second body", "digest of the first body")
    assert await store.last_write("acme/web#2") == ("another issue", "its digest")


async def test_a_run_is_the_unbroken_line_of_joining_runnable_deliveries_behind_the_head(
    store: DeliveryStore,
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


async def test_a_run_stops_at_a_delivery_that_is_not_due(store: DeliveryStore) -> None:
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
    store: DeliveryStore,
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
    store: DeliveryStore,
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


async def test_every_failed_delivery_can_be_retried_at_once(store: DeliveryStore) -> None:
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


async def test_done_deliveries_older_than_the_retention_are_pruned(
    store: DeliveryStore,
) -> None:
    def received(days_ago: float) -> NewDelivery:
        return replace(new_delivery("o/r#1"), received_at=NOW - timedelta(days=days_ago))

    old_done, old_pending, old_running, old_failed = (received(9) for _ in range(4))
    young_done, at_the_limit = received(6.9), received(7)
    many_old_done = [received(8) for _ in range(7)]
    await store.add(old_running)  # as a worker left it: running, its lease long over
    await store.claim(NOW - timedelta(days=9), limit=1, lease=LEASE)
    for delivery in (old_done, old_pending, old_failed, young_done, at_the_limit):
        await store.add(delivery)
    for delivery in many_old_done:
        await store.add(delivery)
    for delivery in (old_done, young_done, at_the_limit, *many_old_done):
        await store.finish(delivery.delivery_id)
    await store.fail(old_failed.delivery_id, error="boom")

    pruned = await store.prune(NOW - timedelta(days=7), batch=3)  # several batches

    assert pruned == 8
    kept = [old_pending, old_running, old_failed, young_done, at_the_limit]
    assert await store.known_ids(d.delivery_id for d in (*kept, old_done, *many_old_done)) == {
        d.delivery_id for d in kept
    }
    assert await store.prune(NOW - timedelta(days=7)) == 0


async def test_known_ids_answers_which_deliveries_are_stored(store: DeliveryStore) -> None:
    stored = new_delivery(None, delivery_id="x'); DROP TABLE deliveries; --")
    await store.add(stored)

    assert await store.known_ids([]) == set()
    assert await store.known_ids([stored.delivery_id, "missing"]) == {stored.delivery_id}


async def test_deliveries_added_together_are_committed_before_add_returns(
    backend: Backend,
) -> None:
    url = backend.new_url()
    store = open_store(url)
    deliveries = [new_delivery("o/r#1") for _ in range(50)]
    try:
        added = await asyncio.gather(
            *(store.add(d) for d in [*deliveries, deliveries[0], deliveries[7]])
        )
        reader = open_store(url, exclusive=False)  # another connection
        try:
            seen = await reader.known_ids(d.delivery_id for d in deliveries)
        finally:
            await reader.close()
    finally:
        await store.close()

    assert added == [True] * 50 + [False, False]
    assert seen == {d.delivery_id for d in deliveries}


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
    and past `not_before`) or its lease has run out, and no delivery of its issue holds a live
    lease; deliveries without an issue always qualify."""
    held = {
        row["issue"]
        for row in rows.values()
        if row["status"] == "running" and row["lease_until"] > now  # type: ignore[operator]
    }
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
        if model_runnable(row, now) and (key is None or key not in held):
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
    """The earliest time after `now` at which a waiting delivery is due or a lease ends."""
    waits = {"pending": "not_before", "running": "lease_until"}
    due = [
        moment
        for row in rows.values()
        if (wait := waits.get(str(row["status"]))) is not None
        and isinstance(moment := row[wait], datetime)
        and moment > now
    ]
    return min(due, default=None)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
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
                    "renew",
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
def test_claims_follow_the_rule_whatever_the_history(backend: Backend, ops: list[Op]) -> None:
    asyncio.run(_play_claims(backend.new_url(), ops))


async def _play_claims(url: str, ops: list[Op]) -> None:
    store = open_store(url)
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
                for delivery_id in expected:
                    rows[delivery_id].update(status="running", lease_until=now + LEASE)
                assert claim.next_due == model_next_due(rows, now)  # the new leases' ends too
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
                elif op == "renew":
                    until = now + LEASE * small
                    await store.renew([delivery_id], until)
                    rows[delivery_id].update(lease_until=until)
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
