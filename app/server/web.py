"""HTTP ingress: `POST /webhooks`, `GET /healthz`, `GET /metrics`.

A delivery is verified, stored durably and only then acknowledged with 202; processing happens
later in the worker. Deliveries the caller does not want (`wants` is False) are acknowledged
with 202 and not stored at all: they have no effect, so there is nothing to keep or replay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Lifespan

from app.server.metrics import Metrics
from app.server.store import DeliveryStatus, DeliveryStore, NewDelivery
from app.server.worker import Worker

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024

Wants = Callable[[str, str | None], bool]
IssueKey = Callable[[Mapping[str, Any]], str | None]

_JSON = "application/json"
_ACCEPTED = Response(b'{"ok":true}', status_code=202, media_type=_JSON)
_DUPLICATE = Response(b'{"ok":true,"duplicate":true}', status_code=202, media_type=_JSON)
_IGNORED = Response(b'{"ok":true,"ignored":true}', status_code=202, media_type=_JSON)


class Rejection(Exception):
    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


def _check_content_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type == _JSON:
        return
    if media_type == "application/x-www-form-urlencoded":
        raise Rejection(
            415,
            "form-encoded deliveries are not supported: set the webhook's content type "
            "to application/json",
        )
    raise Rejection(415, "the delivery must be sent with Content-Type: application/json")


def _check_declared_size(request: Request) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not (declared.isascii() and declared.isdigit()):
        raise Rejection(400, "the Content-Length header is not a number")
    if int(declared) > MAX_BODY_BYTES:
        raise Rejection(413, f"the delivery is larger than {MAX_BODY_BYTES} bytes")


async def _read_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Rejection(413, f"the delivery is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class SignatureCheck:
    """Verifies `X-Hub-Signature-256`; the secret and the signatures are never logged."""

    def __init__(self, webhook_secret: str) -> None:
        self._key = webhook_secret.encode()

    def verify(self, request: Request, body: bytes) -> None:
        signature = request.headers.get("x-hub-signature-256")
        if signature is None:
            if "x-hub-signature" in request.headers:
                raise Rejection(
                    401, "only a SHA-1 X-Hub-Signature was sent: X-Hub-Signature-256 is required"
                )
            raise Rejection(401, "the X-Hub-Signature-256 header is missing")
        expected = b"sha256=" + hmac.digest(self._key, body, hashlib.sha256).hex().encode()
        if not hmac.compare_digest(expected, signature.encode("latin-1")):
            raise Rejection(401, "the X-Hub-Signature-256 signature does not match")


def _required_header(request: Request, name: str) -> str:
    value = request.headers.get(name)
    if not value:
        raise Rejection(400, f"the {name} header is missing")
    return value


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise Rejection(400, "the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise Rejection(400, "the body must be a JSON object")
    return payload


def create_web_app(
    *,
    webhook_secret: str,
    store: DeliveryStore,
    worker: Worker | None,
    metrics: Metrics,
    wants: Wants,
    issue_key: IssueKey,
    lifespan: Lifespan[Starlette] | None = None,
) -> Starlette:
    signatures = SignatureCheck(webhook_secret)

    async def receive_delivery(request: Request) -> Response:
        try:
            _check_content_type(request)
            _check_declared_size(request)
            body = await _read_body(request)
            signatures.verify(request, body)
            event = _required_header(request, "x-github-event")
            delivery_id = _required_header(request, "x-github-delivery")
            payload = _json_object(body)
        except Rejection as rejection:
            log.info("webhook delivery rejected (%d): %s", rejection.status_code, rejection)
            return _error(rejection.status_code, rejection.message)
        if event == "ping":
            return JSONResponse({"ok": True, "zen": payload.get("zen")})
        metrics.delivery_received(event)
        action = payload.get("action")
        action = action if isinstance(action, str) else None
        if not wants(event, action):
            return _IGNORED
        delivery = NewDelivery(
            delivery_id=delivery_id,
            event=event,
            action=action,
            issue_key=issue_key(payload),
            body=body,
            received_at=datetime.now(UTC),
        )
        try:
            added = await store.add(delivery)
        except Exception:
            log.exception("could not store delivery %s", delivery_id)
            return _error(503, "the delivery could not be stored; redeliver it later")
        if not added:
            return _DUPLICATE
        if worker is not None:
            worker.notify()
        return _ACCEPTED

    async def health(request: Request) -> Response:
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

    return Starlette(
        routes=[
            Route("/webhooks", receive_delivery, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
