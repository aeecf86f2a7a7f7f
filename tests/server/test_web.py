from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from githubkit import webhooks
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette

from app.server.metrics import Metrics
from app.server.sqlite_store import SqliteDeliveryStore
from app.server.store import Delivery, DeliveryStatus
from app.server.web import MAX_BODY_BYTES, Headers, Rejection, SignatureCheck, create_web_app
from app.server.worker import Worker
from tests.server.helpers import (
    SECRET,
    comment_payload,
    locked,
    new_delivery,
    one_at_a_time,
    sign,
    triage,
    until,
    webhook_headers,
)

BODY = json.dumps(comment_payload(12)).encode()


async def post(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/webhooks", content=body, headers=headers)


async def stored_count(store: SqliteDeliveryStore) -> int:
    return sum((await store.counts()).values())


async def test_a_signed_delivery_is_stored_then_acknowledged(
    client: httpx.AsyncClient, store: SqliteDeliveryStore
) -> None:
    response = await post(client, BODY, webhook_headers(BODY, delivery_id="abc"))

    assert response.status_code == 202
    assert response.json() == {"ok": True}
    stored = await store.get("abc")
    assert stored is not None
    assert stored.body == BODY
    assert (stored.event, stored.action, stored.issue_key) == (
        "issue_comment",
        "created",
        "octo/hello#12",
    )
    assert stored.status is DeliveryStatus.PENDING


async def test_a_duplicate_delivery_is_acknowledged_and_stored_once(
    client: httpx.AsyncClient, store: SqliteDeliveryStore
) -> None:
    first = await post(client, BODY, webhook_headers(BODY, delivery_id="same"))
    second = await post(client, BODY, webhook_headers(BODY, delivery_id="same"))

    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json() == {"ok": True, "duplicate": True}
    assert await stored_count(store) == 1


async def test_concurrent_deliveries_are_each_stored(
    client: httpx.AsyncClient, store: SqliteDeliveryStore
) -> None:
    ids = [f"d-{n}" for n in range(40)] + ["d-0", "d-1"]
    responses = await asyncio.gather(
        *(post(client, BODY, webhook_headers(BODY, delivery_id=i)) for i in ids)
    )

    assert {r.status_code for r in responses} == {202}
    assert await store.known_ids(ids) == set(ids)
    assert await stored_count(store) == 40
    assert sum(r.json().get("duplicate", False) for r in responses) == 2


async def test_an_unwanted_event_is_acknowledged_and_not_stored(
    client: httpx.AsyncClient, store: SqliteDeliveryStore
) -> None:
    body = b'{"action": "started"}'
    response = await post(client, body, webhook_headers(body, event="watch"))

    assert response.status_code == 202
    assert response.json() == {"ok": True, "ignored": True}
    assert await stored_count(store) == 0


async def test_ping_is_answered_and_not_stored(
    client: httpx.AsyncClient, store: SqliteDeliveryStore
) -> None:
    body = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    response = await post(client, body, webhook_headers(body, event="ping"))

    assert response.status_code == 200
    assert response.json() == {"ok": True, "zen": "Keep it logically awesome."}
    assert await stored_count(store) == 0


@pytest.mark.parametrize(
    ("signature_headers", "message"),
    [
        ({}, "X-Hub-Signature-256 header is missing"),
        ({"X-Hub-Signature": "sha1=0123456789abcdef"}, "only a SHA-1"),
        ({"X-Hub-Signature-256": sign(BODY, "another secret")}, "does not match"),
        ({"X-Hub-Signature-256": sign(BODY).removeprefix("sha256=")}, "does not match"),
        ({"X-Hub-Signature-256": sign(BODY + b" ")}, "does not match"),
        ({"X-Hub-Signature-256": webhooks.sign(SECRET, BODY, "sha1")}, "does not match"),
    ],
)
async def test_a_bad_signature_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    store: SqliteDeliveryStore,
    signature_headers: dict[str, str],
    message: str,
) -> None:
    headers = webhook_headers(BODY)
    del headers["X-Hub-Signature-256"]
    response = await post(client, BODY, headers | signature_headers)

    assert response.status_code == 401
    assert message in response.json()["error"]
    assert await stored_count(store) == 0


def request_with(headers: dict[str, str]) -> Headers:
    return Headers([(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()])


@given(
    body=st.binary(max_size=200),
    signature=st.text(alphabet=st.characters(max_codepoint=255), max_size=80),
)
def test_only_the_exact_signature_is_accepted(body: bytes, signature: str) -> None:
    check = SignatureCheck(SECRET)
    check.verify(request_with({"X-Hub-Signature-256": sign(body)}), body)
    if signature == sign(body):
        return
    with pytest.raises(Rejection) as rejected:
        check.verify(request_with({"X-Hub-Signature-256": signature}), body)
    assert rejected.value.status_code == 401


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
async def test_a_missing_github_header_is_a_bad_request(
    client: httpx.AsyncClient, store: SqliteDeliveryStore, missing: str
) -> None:
    headers = webhook_headers(BODY)
    del headers[missing]
    response = await post(client, BODY, headers)

    assert response.status_code == 400
    assert missing.lower() in response.json()["error"]
    assert await stored_count(store) == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"), (b"\xff\xfe", "not valid")],
)
async def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    client: httpx.AsyncClient, store: SqliteDeliveryStore, body: bytes, message: str
) -> None:
    response = await post(client, body, webhook_headers(body))

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert await stored_count(store) == 0


async def test_a_form_encoded_delivery_is_told_to_use_json(client: httpx.AsyncClient) -> None:
    body = b"payload=%7B%7D"
    headers = webhook_headers(body) | {"Content-Type": "application/x-www-form-urlencoded"}
    response = await post(client, body, headers)

    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


async def test_a_content_type_is_checked_before_the_signature(client: httpx.AsyncClient) -> None:
    response = await post(client, BODY, {"Content-Type": "text/plain"})

    assert response.status_code == 415


async def test_an_oversized_body_is_refused_by_its_declared_length(
    client: httpx.AsyncClient, store: SqliteDeliveryStore
) -> None:
    headers = webhook_headers(BODY) | {"Content-Length": str(MAX_BODY_BYTES + 1)}
    response = await post(client, BODY, headers)

    assert response.status_code == 413
    assert await stored_count(store) == 0


async def test_an_oversized_stream_is_refused_without_reading_it_all(
    client: httpx.AsyncClient, store: SqliteDeliveryStore
) -> None:
    chunk = b" " * (1024 * 1024)
    sent = 0

    async def endless_body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(100):
            sent += 1
            yield chunk

    response = await client.post(
        "/webhooks", content=endless_body(), headers=webhook_headers(b"unknown")
    )

    assert response.status_code == 413
    assert sent < 40
    assert await stored_count(store) == 0


async def test_health_reports_the_backlog(
    client: httpx.AsyncClient, store: SqliteDeliveryStore
) -> None:
    for _ in range(3):
        await store.add(new_delivery("octo/hello#1"))
    failing = new_delivery(None)
    await store.add(failing)
    await store.fail(failing.delivery_id, error="boom")

    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "pending": 3, "running": 0, "failed": 1}


async def test_health_is_unavailable_when_the_store_is_closed(metrics: Metrics) -> None:
    closed = SqliteDeliveryStore(":memory:")
    await closed.close()
    app = create_web_app(
        webhook_secret=SECRET,
        store=closed,
        worker=None,
        metrics=metrics,
        triage=triage,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://baton.test"
    ) as client:
        response = await client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_while_the_store_cannot_write_deliveries_are_refused_and_health_says_why(
    client: httpx.AsyncClient, store: SqliteDeliveryStore
) -> None:
    body = json.dumps({**comment_payload(12), "padding": "x" * 100_000}).encode()
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full

    refused = await post(client, body, webhook_headers(body, delivery_id="full-1"))
    health = await client.get("/healthz")
    store._db.execute("PRAGMA max_page_count = 1073741823")  # room again
    accepted = await post(client, body, webhook_headers(body, delivery_id="full-2"))
    recovered = await client.get("/healthz")

    assert refused.status_code == 503
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    assert health.json()["error"] == (
        "storing deliveries fails: OperationalError: database or disk is full"
    )
    assert "since" in health.json()
    assert accepted.status_code == 202
    assert recovered.status_code == 200
    assert await store.known_ids(["full-1", "full-2"]) == {"full-2"}


async def test_while_the_worker_cannot_claim_deliveries_are_refused_and_health_says_why(
    tmp_path: Path, metrics: Metrics
) -> None:
    path = tmp_path / "baton.db"
    store = SqliteDeliveryStore(str(path), busy_timeout=timedelta(milliseconds=50))
    processed: list[str] = []

    async def process(delivery: Delivery) -> None:
        processed.append(delivery.delivery_id)

    worker = Worker(store, one_at_a_time(process), retry_store=lambda _: timedelta(milliseconds=20))
    app = create_web_app(
        webhook_secret=SECRET, store=store, worker=worker, metrics=metrics, triage=triage
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://baton.test"
    ) as client:
        with locked(path):
            worker.start()
            await until(lambda: worker.trouble is not None, "the worker reports trouble")
            health = await client.get("/healthz")
            refused = await post(client, BODY, webhook_headers(BODY, delivery_id="locked"))
        await until(lambda: worker.trouble is None, "the worker recovers once unlocked")
        recovered = await client.get("/healthz")
        accepted = await post(client, BODY, webhook_headers(BODY, delivery_id="unlocked"))
        await asyncio.wait_for(worker.idle(), 5)
    await worker.stop()
    await store.close()

    assert health.status_code == 503
    assert health.json()["error"] == (
        "claiming deliveries fails: OperationalError: database is locked"
    )
    assert refused.status_code == 503
    assert "database is locked" in refused.json()["error"]
    assert recovered.status_code == 200
    assert accepted.status_code == 202
    assert processed == ["unlocked"], "the refused delivery was not stored"


async def test_metrics_count_deliveries_and_github_responses(
    client: httpx.AsyncClient, metrics: Metrics
) -> None:
    await post(client, BODY, webhook_headers(BODY, delivery_id="m-1"))
    metrics.observe_github_response(200, 4999)
    metrics.observe_github_response(403, None)

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'baton_deliveries_received_total{event="issue_comment"} 1.0' in text
    assert 'baton_github_requests_total{status="200"} 1.0' in text
    assert 'baton_github_requests_total{status="403"} 1.0' in text
    assert "baton_github_rate_limit_remaining 4999.0" in text
    assert "baton_delivery_processing_seconds_bucket" in text
    assert "baton_deliveries_processed_total" in text
    assert "baton_deliveries_failed_total" in text


def free_socket() -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    return listener


async def test_over_a_real_socket_a_delivery_is_stored_and_processed(tmp_path: Any) -> None:
    store = SqliteDeliveryStore(str(tmp_path / "baton.db"))
    processed: list[Delivery] = []

    async def process(delivery: Delivery) -> None:
        processed.append(delivery)

    worker = Worker(store, one_at_a_time(process))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker.start()
        yield
        await worker.stop()
        await store.close()

    app = create_web_app(
        webhook_secret=SECRET,
        store=store,
        worker=worker,
        metrics=Metrics(),
        triage=triage,
        lifespan=lifespan,
    )
    listener = free_socket()
    host, port = listener.getsockname()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        await until(lambda: server.started, "uvicorn starts serving")
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
            response = await post(client, BODY, webhook_headers(BODY, delivery_id="real"))
            assert response.status_code == 202
            await asyncio.wait_for(worker.idle(), 5)
    finally:
        server.should_exit = True
        await serving

    assert [d.delivery_id for d in processed] == ["real"]
    assert processed[0].payload() == comment_payload(12)
