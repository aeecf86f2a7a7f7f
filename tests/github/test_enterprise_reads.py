"""Reads of a few fields through a real `GitHubSession`, against the stand-in as a GitHub
Enterprise Server 3.17, whose answers lack fields githubkit's models require."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.demo.harness import APP_ID, REPO, app_key_pem, populate
from app.github.client import GitHubApp, GitHubSession, WritePacer
from app.github.issues import ensure_labels, role_of
from app.sandbox import StandIn
from app.sandbox.editions import ENTERPRISE_SERVER


@pytest.fixture
def server() -> StandIn:
    made = StandIn(
        app_id=APP_ID,
        app_public_key_pem=app_key_pem()[1],
        webhook_secret="s",
        edition=ENTERPRISE_SERVER,
    )
    populate(made)
    return made


@pytest.fixture
async def session(server: StandIn) -> AsyncIterator[GitHubSession]:
    app = GitHubApp(
        app_id=APP_ID,
        private_key=app_key_pem()[0],
        api_url=server.base_url,
        transport=server.transport(),
        pacer_factory=lambda: WritePacer(interval=0),
    )
    async with app.installation(next(iter(server.world.installations))) as opened:
        yield opened


async def test_labels_listed_without_archive_fields_are_known(
    server: StandIn, session: GitHubSession
) -> None:
    issue = await server.open_issue(REPO, "Checkout is down", None, "rita")
    await server.add_labels(REPO, issue["number"], ["incident", "sev2"], "alice")

    await ensure_labels(session, REPO, ["incident", "sev2", "status:investigating"])

    created = [
        r.json["name"]
        for r in server.requests
        if r.route == "/repos/{owner}/{repo}/labels" and r.method == "POST"
    ]
    assert created == ["status:investigating"]


@pytest.mark.parametrize(("login", "role"), [("bob", "triage"), ("carol", "maintain")])
async def test_a_role_is_read_without_the_nested_users_role_name(
    session: GitHubSession, login: str, role: str
) -> None:
    assert await role_of(session, REPO, login) == role
