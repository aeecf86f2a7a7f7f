"""A stand-in of GitHub with the demo's App installed, and a session of that installation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.demo.harness import APP_ID, REPO, app_key_pem, populate
from app.github.client import GitHubApp, GitHubSession, WritePacer
from app.sandbox import StandIn


@pytest.fixture
def standin() -> StandIn:
    made = StandIn(app_id=APP_ID, app_public_key_pem=app_key_pem()[1], webhook_secret="s")
    populate(made)
    return made


@pytest.fixture
async def session(standin: StandIn) -> AsyncIterator[GitHubSession]:
    app = GitHubApp(
        app_id=APP_ID,
        private_key=app_key_pem()[0],
        api_url=standin.base_url,
        transport=standin.transport(),
        pacer_factory=lambda: WritePacer(interval=0),
    )
    async with app.installation(next(iter(standin.world.installations))) as opened:
        yield opened


@pytest.fixture
async def number(standin: StandIn) -> int:
    issue = await standin.open_issue(REPO, "Checkout is down", None, "rita")
    return int(issue["number"])
