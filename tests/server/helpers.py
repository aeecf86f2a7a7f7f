"""Signing and payload helpers shared by the server tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import githubkit.webhooks
import pytest

from app.handlers.events import Event, glance
from app.handlers.triage import Verdict
from app.server.store import Delivery, NewDelivery
from app.server.worker import Process

SECRET = "It's a Secret to Everybody"


def sign(body: bytes, secret: str = SECRET) -> str:
    return githubkit.webhooks.sign(secret, body)


def triage(event: str, body: bytes) -> Verdict:
    """Every `issues` and `issue_comment` delivery is stored: the server's tests are about
    storing, not about which deliveries matter (tests/e2e/test_triage.py)."""
    payload = glance(body)
    action = payload.get("action")
    return Verdict(
        store=event in {"issues", "issue_comment"},
        action=action if isinstance(action, str) else None,
        issue_key=Event(event, None, payload).issue_key,
    )


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


def one_at_a_time(handle: Callable[[Delivery], Awaitable[None]]) -> Process:
    """A worker's `process` that handles the first delivery of each run alone."""

    async def process(run: Sequence[Delivery]) -> int:
        await handle(run[0])
        return 1

    return process


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another connection holds the database's write lock (`BEGIN EXCLUSIVE`) meanwhile."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")


async def until(condition: Callable[[], bool], what: str, *, within: float = 5.0) -> None:
    """Wait until `condition` holds; fail the test, naming `what`, after `within` seconds."""
    try:
        async with asyncio.timeout(within):
            while not condition():
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"not within {within} s: {what}")
