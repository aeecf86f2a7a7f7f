"""The server's sweep: each due incident becomes a stored `baton.sweep` delivery.

The worker runs it in order with the webhooks of the same issue (app/handlers/sweep.py decides
the nudges again on the issue as it is then), so the sweep never races a command.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime

from app.github.client import GitHubApp
from app.github.config_source import ConfigCache
from app.github.listing import ListingCache
from app.incident.clocks import Nudge
from app.jobs.sweep import sweep_installations
from app.jobs.sweep_report import DEFAULT_BUDGET, OperationsBudget, SweepReport, config_line
from app.server.store import DeliveryStore, NewDelivery

log = logging.getLogger(__name__)

SWEEP_EVENT = "baton.sweep"  # the synthetic delivery that runs one incident's nudges
SWEEP_ACTION = "due"


class ServerSweep:
    """The server's sweep: each due incident becomes a stored `baton.sweep` delivery, ordered
    with the webhooks of the same issue. Its id names the nudges due, so a second sweep before
    the worker got to it (or after a restart) stores nothing new."""

    def __init__(
        self,
        *,
        github: GitHubApp,
        store: DeliveryStore,
        notify: Callable[[], None],
        key: bytes,
        clock: Callable[[], datetime],
        budget: int = DEFAULT_BUDGET,
        configs: ConfigCache | None = None,
    ) -> None:
        self._github = github
        self._store = store
        self._notify = notify
        self._key = key
        self._clock = clock
        self._budget = budget
        self._configs = configs or ConfigCache()  # shared with the worker: one read per minute
        self._listings = ListingCache()
        self._told: dict[str, str] = {}  # repository -> the configuration problems last named

    async def run_once(self) -> SweepReport:
        report = await sweep_installations(
            self._github,
            configs=self._configs,
            key=self._key,
            now=self._clock(),
            budget=OperationsBudget(self._budget),
            listings=self._listings,
            enqueue=self._enqueue,
        )
        # Named once, and again when they change (or come back once fixed): not at every run.
        told, self._told = self._told, dict(report.config_problems)
        report.config_problems = [
            (repo, problems)
            for repo, problems in report.config_problems
            if told.get(repo) != problems
        ]
        for repo, problems in report.config_problems:
            log.warning("sweep: %s", config_line(repo, problems))
        log.info("sweep: %s", report.summary())
        return report

    async def _enqueue(
        self, repo: str, number: int, due: tuple[Nudge, ...], installation_id: int | None
    ) -> bool:
        keys = [nudge.key for nudge in due]
        digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
        payload = {
            "action": SWEEP_ACTION,
            "installation": {"id": installation_id},
            "repository": {"full_name": repo},
            "issue": {"number": number},
            "nudges": keys,
        }
        added = await self._store.add(
            NewDelivery(
                delivery_id=f"sweep:{repo}#{number}:{digest}",
                event=SWEEP_EVENT,
                action=SWEEP_ACTION,
                issue_key=f"{repo}#{number}",
                body=json.dumps(payload).encode(),
                received_at=self._clock(),
            )
        )
        if added:
            self._notify()
        return added
