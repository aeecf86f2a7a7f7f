"""HTTP ingress: `POST /webhooks`, `GET /healthz`, `GET /metrics`.

A delivery is verified, stored durably and only then acknowledged with 202; processing happens
later in the worker. Deliveries that triage finds cannot matter (an event Baton does not handle,
a comment without a command on an issue that is no incident…) are acknowledged with 202 and not
stored at all: they have no effect, so there is nothing to keep or replay.

`POST /webhooks` is a plain ASGI app that `BatonWeb` calls before Starlette's middleware and
router: it reads the scope and sends its answer directly, because Starlette's layers and its
Request and Response objects cost more per delivery than verifying, reading and storing it
(docs/performance.md). Every other request, and the lifespan, go through Starlette.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from githubkit import webhooks
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Lifespan, Message, Receive, Scope, Send

from app.server.health import Health
from app.server.metrics import Metrics
from app.server.store import DeliveryStatus, DeliveryStore, NewDelivery
from app.server.worker import Worker, utc_now

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024


class Verdict(Protocol):
    @property
    def store(self) -> bool: ...
    @property
    def action(self) -> str | None: ...
    @property
    def issue_key(self) -> str | None: ...


# (X-GitHub-Event, body) -> whether to store it, its action and issue key. Raises ValueError,
# whose words go back to the sender, when the body is not a JSON object.
Triage = Callable[[str, bytes], Verdict]

_ACCEPTED = b'{"ok":true}'
_DUPLICATE = b'{"ok":true,"duplicate":true}'
_IGNORED = b'{"ok":true,"ignored":true}'


class Rejection(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class Headers:
    """A request's headers by name (the first of repeated ones, as Starlette does). ASGI servers
    give header names in lower case."""

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._values = dict(reversed(raw))  # reversed: the first of repeated headers wins

    def get(self, name: str) -> str | None:
        value = self._values.get(name.encode())
        return None if value is None else value.decode("latin-1")

    def __contains__(self, name: str) -> bool:
        return name.encode() in self._values


def _check_content_type(headers: Headers) -> None:
    media_type = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return
    if media_type == "application/x-www-form-urlencoded":
        raise Rejection(
            415,
            "form-encoded deliveries are not supported: set the webhook's content type "
            "to application/json",
        )
    raise Rejection(415, "the delivery must be sent with Content-Type: application/json")


def _check_declared_size(headers: Headers) -> None:
    declared = headers.get("content-length")
    if declared is None:
        return
    if not (declared.isascii() and declared.isdigit()):
        raise Rejection(400, "the Content-Length header is not a number")
    if int(declared) > MAX_BODY_BYTES:
        raise Rejection(413, f"the delivery is larger than {MAX_BODY_BYTES} bytes")


class Disconnected(Exception):
    """The sender went away before the whole body arrived: there is no one to answer."""


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Rejection(413, f"the delivery is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class SignatureCheck:
    """Verifies `X-Hub-Signature-256`; the secret and the signatures are never logged."""

    def __init__(self, webhook_secret: str) -> None:
        self._secret = webhook_secret

    def verify(self, headers: Headers, body: bytes) -> None:
        signature = headers.get("x-hub-signature-256")
        if signature is None:
            if "x-hub-signature" in headers:
                raise Rejection(
                    401, "only a SHA-1 X-Hub-Signature was sent: X-Hub-Signature-256 is required"
                )
            raise Rejection(401, "the X-Hub-Signature-256 header is missing")
        # githubkit checks a `sha1=` value with SHA-1, and compares only ASCII text.
        if not (
            signature.startswith("sha256=")
            and signature.isascii()
            and webhooks.verify(self._secret, body, signature)
        ):
            raise Rejection(401, "the X-Hub-Signature-256 signature does not match")


def _required_header(headers: Headers, name: str) -> str:
    value = headers.get(name)
    if not value:
        raise Rejection(400, f"the {name} header is missing")
    return value


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class WebhookEndpoint:
    """`POST /webhooks`: verify, triage, store, acknowledge."""

    def __init__(
        self,
        *,
        webhook_secret: str,
        store: DeliveryStore,
        worker: Worker | None,
        metrics: Metrics,
        triage: Triage,
    ) -> None:
        self._signatures = SignatureCheck(webhook_secret)
        self._store = store
        self._worker = worker
        self._metrics = metrics
        self._triage = triage
        self.storing = Health("storing deliveries", utc_now)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope["headers"])
        try:
            status, answer = await self._receive(headers, receive)
        except Disconnected:
            return
        except Rejection as rejection:
            log.info("webhook delivery rejected (%d): %s", rejection.status_code, rejection)
            status, answer = rejection.status_code, _error_body(rejection.message)
        await _answer(send, status, answer)

    async def _receive(self, headers: Headers, receive: Receive) -> tuple[int, bytes]:
        _check_content_type(headers)
        _check_declared_size(headers)
        body = await _read_body(receive)
        self._signatures.verify(headers, body)
        event = _required_header(headers, "x-github-event")
        delivery_id = _required_header(headers, "x-github-delivery")
        try:
            verdict = self._triage(event, body)
        except ValueError as malformed:
            raise Rejection(400, str(malformed)) from None
        if event == "ping":
            return 200, json.dumps({"ok": True, "zen": json.loads(body).get("zen")}).encode()
        self._metrics.delivery_received(event)
        if not verdict.store:
            return 202, _IGNORED
        delivery = NewDelivery(
            delivery_id=delivery_id,
            event=event,
            action=verdict.action,
            issue_key=verdict.issue_key,
            body=body,
            received_at=datetime.now(UTC),
        )
        unclaimable = self._worker.trouble if self._worker is not None else None
        if unclaimable is not None:  # it would be stored and left undone
            return 503, _error_body(f"{unclaimable.reason()}; redeliver it later")
        try:
            added = await self._store.add(delivery)
        except Exception as error:
            log.warning("could not store delivery %s", delivery_id)
            self.storing.failed(error)
            return 503, _error_body("the delivery could not be stored; redeliver it later")
        self.storing.worked()
        if not added:
            return 202, _DUPLICATE
        if self._worker is not None:
            self._worker.notify(verdict.issue_key)
        return 202, _ACCEPTED


class BatonWeb(Starlette):
    def __init__(self, *, webhooks: WebhookEndpoint, **options: Any) -> None:
        super().__init__(**options)
        self._webhooks = webhooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/webhooks":
            await self._webhooks(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_web_app(
    *,
    webhook_secret: str,
    store: DeliveryStore,
    worker: Worker | None,
    metrics: Metrics,
    triage: Triage,
    lifespan: Lifespan[Starlette] | None = None,
) -> BatonWeb:
    webhooks = WebhookEndpoint(
        webhook_secret=webhook_secret, store=store, worker=worker, metrics=metrics, triage=triage
    )

    async def health(request: Request) -> Response:
        trouble = webhooks.storing.trouble or (worker.trouble if worker is not None else None)
        if trouble is not None:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "error": trouble.reason(),
                    "since": trouble.since.isoformat(timespec="seconds"),
                },
                status_code=503,
            )
        try:
            counts = await store.counts()
        except Exception:
            log.exception("the delivery store is unreachable")
            return JSONResponse(
                {"status": "unavailable", "error": "the delivery store is unreachable"},
                status_code=503,
            )
        return JSONResponse(
            {
                "status": "ok",
                "pending": counts[DeliveryStatus.PENDING],
                "running": counts[DeliveryStatus.RUNNING],
                "failed": counts[DeliveryStatus.FAILED],
            }
        )

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    return BatonWeb(
        webhooks=webhooks,
        routes=[
            Route("/webhooks", webhooks, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
