"""Webhook deliveries as GitHub's hookshot makes them: queued, signed, sent in order, recorded."""

from __future__ import annotations

import asyncio
import collections
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
from githubkit import webhooks

USER_AGENT = "GitHub-Hookshot/5a4b7c1"


class WebhookSink(Protocol):
    async def send(self, headers: dict[str, str], body: bytes) -> int:
        """Deliver one webhook; answer the HTTP status (0 when the receiver was unreachable)."""
        ...


class HttpWebhookSink:
    """Posts deliveries to a URL over HTTP, on a kept-alive connection.

    One client for every delivery: building an httpx client loads a TLS context (milliseconds
    of CPU), and the stand-in serving API requests must not stall on it after each change, as
    GitHub's API does not wait for its deliveries."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def send(self, headers: dict[str, str], body: bytes) -> int:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.TransportError:
            return 0
        return response.status_code

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class AsgiWebhookSink:
    """Posts deliveries to an ASGI application in-process (no socket)."""

    def __init__(self, asgi_app: Any, path: str = "/webhooks") -> None:
        self.transport = httpx.ASGITransport(app=asgi_app)
        self.path = path

    async def send(self, headers: dict[str, str], body: bytes) -> int:
        async with httpx.AsyncClient(transport=self.transport, base_url="http://baton") as client:
            response = await client.post(self.path, content=body, headers=headers)
        return response.status_code


@dataclass
class SentDelivery:
    event: str
    action: str | None
    delivery_id: str  # the X-GitHub-Delivery guid
    status_code: int | None  # None when there was no sink
    sender: str
    payload: dict[str, Any]
    redelivery: bool = False


@dataclass
class HookDelivery:
    """One attempt, as listed by `GET /app/hook/deliveries`."""

    id: int
    guid: str
    delivered_at: datetime
    redelivery: bool
    duration: float
    status: str
    status_code: int
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    body: bytes = field(repr=False)


@dataclass
class _Pending:
    guid: str
    event: str
    action: str | None
    body: bytes
    installation_id: int | None
    repository_id: int | None
    redelivery: bool = False


class Hookshot:
    """Queues deliveries and sends them from one background task, in order."""

    def __init__(
        self, *, secret: str, app_id: int, sink: WebhookSink | None, clock: Callable[[], datetime]
    ) -> None:
        self.secret = secret
        self.app_id = app_id
        self.hook_id = app_id * 10 + 7
        self.sink = sink
        self.clock = clock
        self.deliveries: list[SentDelivery] = []
        self.hook_deliveries: list[HookDelivery] = []
        self._queue: collections.deque[_Pending] = collections.deque()
        self._worker: asyncio.Task[None] | None = None
        self._next_id = 90_000_001

    def enqueue(
        self,
        event: str,
        payload: dict[str, Any],
        installation_id: int | None,
        repository_id: int | None,
    ) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        action = payload.get("action")
        self._queue.append(
            _Pending(str(uuid.uuid4()), event, action, body, installation_id, repository_id)
        )
        self._wake()

    def redeliver(self, delivery: HookDelivery) -> None:
        self._queue.append(
            _Pending(
                delivery.guid,
                delivery.event,
                delivery.action,
                delivery.body,
                delivery.installation_id,
                delivery.repository_id,
                redelivery=True,
            )
        )
        self._wake()

    async def settle(self) -> None:
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    def _wake(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self._queue:
            await self._send(self._queue.popleft())

    def headers(self, pending: _Pending) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Event": pending.event,
            "X-GitHub-Delivery": pending.guid,
            "X-GitHub-Hook-ID": str(self.hook_id),
            "X-GitHub-Hook-Installation-Target-ID": str(self.app_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
            "X-Hub-Signature": webhooks.sign(self.secret, pending.body, "sha1"),
            "X-Hub-Signature-256": webhooks.sign(self.secret, pending.body, "sha256"),
        }

    async def _send(self, pending: _Pending) -> None:
        started = time.perf_counter()
        status_code = (
            None if self.sink is None else await self.sink.send(self.headers(pending), pending.body)
        )
        payload = json.loads(pending.body)
        self.deliveries.append(
            SentDelivery(
                pending.event,
                pending.action,
                pending.guid,
                status_code,
                payload["sender"]["login"],
                payload,
                pending.redelivery,
            )
        )
        self.hook_deliveries.append(
            HookDelivery(
                id=self._next_id,
                guid=pending.guid,
                delivered_at=self.clock(),
                redelivery=pending.redelivery,
                duration=round(time.perf_counter() - started, 3),
                status=_status_text(status_code),
                status_code=200 if status_code is None else status_code,
                event=pending.event,
                action=pending.action,
                installation_id=pending.installation_id,
                repository_id=pending.repository_id,
                body=pending.body,
            )
        )
        self._next_id += 1


def _status_text(status_code: int | None) -> str:
    if status_code is None:
        return "OK"
    if status_code == 0:
        return "failed to connect to host"
    return "OK" if 200 <= status_code < 300 else f"Invalid HTTP Response: {status_code}"
