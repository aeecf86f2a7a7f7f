from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from app.demo.harness import serving
from app.sandbox.slack import SlackStandIn
from tests.postgres import Schemas


@pytest.fixture
def postgres() -> Iterator[Schemas]:
    """Fresh schemas on the test PostgreSQL server, dropped after the test."""
    schemas = Schemas()
    yield schemas
    schemas.drop()


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    """A Slack incoming webhook, served over HTTP on loopback."""
    standin = SlackStandIn()
    async with serving(standin.app, lifespan="off") as url:
        standin.base_url = url
        yield standin
