"""`baton deliveries`: the stored webhook deliveries, for operators.

The commands open the database beside a running `baton serve`, without its process lock:
SQLite's own locking (or PostgreSQL's) keeps their few writes apart from the server's, and the
server's worker, which looks for runnable deliveries at least every 10 seconds, takes up a
retried one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from app.entry.settings import Settings
from app.server.databases import database_path, open_store
from app.server.store import Delivery, DeliveryStatus, DeliveryStore, redacted

_UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.RUNNING, DeliveryStatus.FAILED)
_ERROR_WIDTH = 80


class DeliveriesError(Exception):
    """The command cannot do what was asked; the words say why."""


async def deliveries_command(
    settings: Settings, action: str, *, failed: bool, delivery_id: str | None
) -> str:
    """Run `baton deliveries ACTION`; what to print."""
    path = database_path(settings.database_url)
    if path is not None and not Path(path).is_file():
        raise DeliveriesError(
            f"no delivery store at {path} (BATON_DATABASE_URL): run this where `baton serve`"
            " runs, with its settings"
        )
    where = path or redacted(settings.database_url)
    store = open_store(settings.database_url, exclusive=False)
    try:
        if action == "list":
            return await _list(store, failed_only=failed)
        if action == "retry":
            return await (_retry_all(store) if failed else _retry(store, where, delivery_id or ""))
        return await _prune(store, settings.retention_days)
    except (sqlite3.Error, psycopg.Error) as error:
        raise DeliveriesError(f"the delivery store {where}: {error}") from None
    finally:
        await store.close()


async def _list(store: DeliveryStore, *, failed_only: bool) -> str:
    statuses = (DeliveryStatus.FAILED,) if failed_only else _UNFINISHED
    deliveries = await store.list_deliveries(statuses)
    if not deliveries:
        return "No failed deliveries." if failed_only else "No deliveries waiting or failed."
    count = len(deliveries)
    title = (
        _deliveries(count, "failed ")
        if failed_only
        else f"{_deliveries(count)} waiting, running or failed"
    )
    rows: list[tuple[str, ...]] = [
        ("ID", "STATUS", "EVENT", "ISSUE", "RECEIVED", "ATTEMPTS", "LAST ERROR")
    ]
    rows += [_row(delivery) for delivery in deliveries]
    return "\n".join([title, *_aligned(rows)])


def _deliveries(count: int, kind: str = "") -> str:
    return f"{count} {kind}{'delivery' if count == 1 else 'deliveries'}"


def _row(delivery: Delivery) -> tuple[str, ...]:
    event = f"{delivery.event}.{delivery.action}" if delivery.action else delivery.event
    error = (delivery.last_error or "").partition("\n")[0]
    if len(error) > _ERROR_WIDTH:
        error = error[: _ERROR_WIDTH - 1] + "…"
    return (
        delivery.delivery_id,
        delivery.status,
        event,
        delivery.issue_key or "-",
        f"{delivery.received_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        str(delivery.attempts),
        error,
    )


def _aligned(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


async def _retry(store: DeliveryStore, where: str, delivery_id: str) -> str:
    if await store.retry_failed(delivery_id):
        return f"Delivery {delivery_id} is pending again; {_taken_up(1)}."
    delivery = await store.get(delivery_id)
    if delivery is None:
        raise DeliveriesError(f"no delivery {delivery_id} in the delivery store {where}")
    raise DeliveriesError(
        f"delivery {delivery_id} is {delivery.status}, not failed: only failed ones are retried"
    )


async def _retry_all(store: DeliveryStore) -> str:
    retried = await store.retry_all_failed()
    if retried == 0:
        return "No failed deliveries."
    are = "is" if retried == 1 else "are"
    return f"{_deliveries(retried)} {are} pending again; {_taken_up(retried)}."


def _taken_up(count: int) -> str:
    return f"a running `baton serve` takes {'it' if count == 1 else 'them'} up within seconds"


async def _prune(store: DeliveryStore, retention_days: int) -> str:
    pruned = await store.prune(datetime.now(UTC) - timedelta(days=retention_days))
    return (
        f"Deleted {_deliveries(pruned, 'done ')} received more than {retention_days} days ago"
        " (BATON_RETENTION_DAYS), with their payloads."
    )
