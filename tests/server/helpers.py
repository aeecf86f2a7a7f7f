"""Signing and payload helpers shared by the server tests."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from app.server.store import NewDelivery

SECRET = "It's a Secret to Everybody"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def issue_key(payload: Mapping[str, Any]) -> str | None:
    issue = payload.get("issue")
    repository = payload.get("repository")
    if not isinstance(issue, dict) or not isinstance(repository, dict):
        return None
    return f"{repository['full_name']}#{issue['number']}"


def wants(event: str, action: str | None) -> bool:
    return event in {"issues", "issue_comment"}


def comment_payload(number: int, text: str = "/ack") -> dict[str, Any]:
    return {
        "action": "created",
        "issue": {"number": number},
        "comment": {"body": text},
        "repository": {"full_name": "octo/hello"},
    }


def webhook_headers(
    body: bytes, *, event: str = "issue_comment", delivery_id: str = "d-1"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(body),
    }


_sequence = itertools.count()


def new_delivery(issue: str | None, *, delivery_id: str | None = None) -> NewDelivery:
    payload = {"issue_key": issue}
    return NewDelivery(
        delivery_id=delivery_id or f"delivery-{next(_sequence)}",
        event="issue_comment",
        action="created",
        issue_key=issue,
        body=json.dumps(payload).encode(),
        received_at=datetime.now(UTC),
    )
