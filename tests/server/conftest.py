from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.server.metrics import Metrics
from app.server.sqlite_store import SqliteDeliveryStore
from app.server.web import create_web_app
from tests.server.helpers import SECRET, triage


@pytest.fixture
async def store() -> AsyncIterator[SqliteDeliveryStore]:
    opened = SqliteDeliveryStore(":memory:")
    yield opened
    await opened.close()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def client(store: SqliteDeliveryStore, metrics: Metrics) -> AsyncIterator[httpx.AsyncClient]:
    app = create_web_app(
        webhook_secret=SECRET,
        store=store,
        worker=None,
        metrics=metrics,
        triage=triage,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as opened:
        yield opened
