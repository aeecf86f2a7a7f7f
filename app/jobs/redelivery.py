"""Recovering webhook deliveries that never reached Baton.

GitHub does not retry a failed delivery. On start and every few minutes Baton lists the App's
recent deliveries (`GET /app/hook/deliveries`, newest first, cursor-paginated) back to its
previous check, or to the 3 days GitHub keeps them, and asks GitHub to deliver again
(`POST /app/hook/deliveries/{id}/attempts`) each one whose attempts all failed and whose guid
the store does not know. A guid is asked for at most once per process: if that attempt fails
too, the delivery is left for people to see in the App's settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.github.client import GitHubApp
from app.server.store import DeliveryStore

log = logging.getLogger(__name__)

RETENTION = timedelta(days=3)  # how long GitHub keeps deliveries
INTERVAL = 600.0  # seconds between checks
OVERLAP = timedelta(minutes=1)  # look a little before the previous check: clocks differ
PER_PAGE = 100


@dataclass(frozen=True)
class Attempt:
    id: int
    guid: str
    delivered_at: datetime
    ok: bool


class Redelivery:
    def __init__(
        self, github: GitHubApp, store: DeliveryStore, *, clock: Callable[[], datetime]
    ) -> None:
        self._github = github
        self._store = store
        self._clock = clock
        self._checked_at: datetime | None = None
        self._requested: set[str] = set()

    async def check(self) -> list[str]:
        """Ask again for the missed deliveries; returns their guids."""
        started = self._clock()
        since = started - RETENTION
        if self._checked_at is not None:
            since = max(since, self._checked_at - OVERLAP)
        attempts = await self._attempts_since(since)
        # Oldest first, as they happened: commands on one incident then arrive in order.
        missed = dict(reversed((await self._missed(attempts)).items()))
        for guid, attempt_id in missed.items():
            await self._ask_again(attempt_id)
            self._requested.add(guid)
            log.info("asked GitHub to deliver %s again", guid)
        self._checked_at = started
        return list(missed)

    async def _missed(self, attempts: list[Attempt]) -> dict[str, int]:
        """guid -> the latest attempt of each delivery that never succeeded and is unknown."""
        succeeded = {a.guid for a in attempts if a.ok}
        failed: dict[str, int] = {}
        for attempt in attempts:  # newest first: keep the latest attempt's id
            if not attempt.ok and attempt.guid not in succeeded:
                failed.setdefault(attempt.guid, attempt.id)
        for guid in self._requested | await self._store.known_ids(failed):
            failed.pop(guid, None)
        return failed

    async def _attempts_since(self, since: datetime) -> list[Attempt]:
        found: list[Attempt] = []
        async with self._github.as_app() as app:
            pages = app.github.rest.paginate(
                app.rest.apps.async_list_webhook_deliveries,
                lambda response: [[_attempt(item) for item in response.parsed_data]],
                per_page=PER_PAGE,
            )
            async for page in app.every(pages):  # newest first
                found += [a for a in page if a.delivered_at >= since]
                if not page or page[-1].delivered_at < since:
                    break
        return found

    async def _ask_again(self, attempt_id: int) -> None:
        async with self._github.as_app() as app:
            await app.write(lambda: app.rest.apps.async_redeliver_webhook_delivery(attempt_id))


def _attempt(item: Any) -> Attempt:
    return Attempt(
        id=item.id,
        guid=item.guid,
        delivered_at=item.delivered_at,
        ok=item.status == "OK" and 200 <= item.status_code < 300,
    )
