"""`baton serve`: the composition root, wiring the webhook server to the store, the worker, the
background jobs, the handlers and GitHub."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from starlette.applications import Starlette

from app.chat.slack import SlackWebhook
from app.entry.credentials import github_app, state_key
from app.entry.settings import Settings
from app.github.client import GitHubApp, WritePacer
from app.github.config_source import ConfigCache
from app.handlers.router import joins_run
from app.handlers.triage import Triage
from app.jobs.config_changes import ConfigChanges
from app.jobs.periodic import JobLease, Periodic, process_name
from app.jobs.redelivery import INTERVAL, Redelivery
from app.jobs.server_sweep import ServerSweep
from app.pipeline.processing import DeliveryProcessor
from app.server.databases import open_store
from app.server.metrics import Metrics
from app.server.store import DeliveryStore
from app.server.web import create_web_app
from app.server.worker import Worker, utc_now

log = logging.getLogger(__name__)

PRUNE_INTERVAL = 3600.0  # seconds between deletions of old done deliveries


@dataclass
class Service:
    """Everything `baton serve` runs, kept together so tests can reach each part."""

    web: Starlette
    store: DeliveryStore
    worker: Worker
    github: GitHubApp
    metrics: Metrics
    sweep: ServerSweep


def build_service(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] = utc_now,
    pacer_factory: Callable[[], WritePacer] = WritePacer,
    store: DeliveryStore | None = None,
) -> Service:
    webhook_secret = settings.require_app()
    key = state_key(settings)
    store = store or open_store(settings.database_url)
    metrics = Metrics()
    github = github_app(
        settings,
        transport=transport,
        observe=metrics.observe_github_response,
        pacer_factory=pacer_factory,
        clock=clock,
    )
    configs = ConfigCache()
    chat = (
        SlackWebhook(url, timeout=settings.http_timeout)
        if (url := settings.slack_webhook_url)
        else None
    )
    processor = DeliveryProcessor(
        github=github, store=store, state_key=key, clock=clock, configs=configs, chat=chat
    )
    worker = Worker(store, processor, clock=clock, metrics=metrics, joins=joins_run)
    sweep = ServerSweep(
        github=github,
        store=store,
        notify=worker.notify,
        key=key,
        clock=clock,
        configs=configs,
    )
    redelivery = Redelivery(github, store, clock=clock)
    retention = timedelta(days=settings.retention_days)
    config_changes = ConfigChanges(store, configs)
    holder = process_name()

    def once_per_deployment(job: str) -> JobLease:
        return JobLease(store, job, holder=holder, clock=clock)

    async def prune() -> None:
        if pruned := await store.prune(clock() - retention):
            log.info(
                "deleted %d done deliveries older than %d days", pruned, settings.retention_days
            )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        gc.collect()
        gc.freeze()
        worker.start()  # picks up deliveries stored but not finished before a restart
        config_changes.start()
        background = (
            Periodic(
                sweep.run_once,
                settings.sweep_interval,
                at_start=False,
                name="baton-sweep",
                lease=once_per_deployment("sweep"),
            ),
            Periodic(
                redelivery.check,
                INTERVAL,
                at_start=True,
                name="baton-redelivery",
                lease=once_per_deployment("redelivery"),
            ),
            Periodic(
                prune,
                PRUNE_INTERVAL,
                at_start=True,
                name="baton-prune",
                lease=once_per_deployment("prune"),
            ),
        )
        for task in background:
            await task.start()
        try:
            yield
        finally:
            for task in background:
                await task.stop()
            await config_changes.stop()
            await worker.stop()
            await store.close()
            await github.aclose()

    web = create_web_app(
        webhook_secret=webhook_secret,
        store=store,
        worker=worker,
        metrics=metrics,
        triage=Triage(
            state_key=key,
            cached_config=configs.peek,
            known_bot_login=github.known_bot_login,
            config_pushed=config_changes.pushed,
        ),
        lifespan=lifespan,
    )
    return Service(web=web, store=store, worker=worker, github=github, metrics=metrics, sweep=sweep)
