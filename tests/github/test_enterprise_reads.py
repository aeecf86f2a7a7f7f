"""Reads of a few fields through a real `GitHubSession`, against the stand-in as a GitHub
Enterprise Server 3.17, whose answers lack fields githubkit's models require."""

from __future__ import annotations

import pytest

from app.demo.harness import APP_ID, REPO, app_key_pem, populate
from app.github.client import GitHubSession
from app.github.issues import ensure_labels, role_of
from app.sandbox import StandIn
from app.sandbox.editions import ENTERPRISE_SERVER


@pytest.fixture
def standin() -> StandIn:
    """GitHub Enterprise Server, for the session of tests/github/conftest.py."""
    made = StandIn(
        app_id=APP_ID,
        app_public_key_pem=app_key_pem()[1],
        webhook_secret="s",
        edition=ENTERPRISE_SERVER,
    )
    populate(made)
    return made


async def test_labels_listed_without_archive_fields_are_known(
    standin: StandIn, session: GitHubSession
) -> None:
    issue = await standin.open_issue(REPO, "Checkout is down", None, "rita")
    await standin.add_labels(REPO, issue["number"], ["incident", "sev2"], "alice")

    await ensure_labels(session, REPO, ["incident", "sev2", "status:investigating"])

    created = [
        r.json["name"]
        for r in standin.requests
        if r.route == "/repos/{owner}/{repo}/labels" and r.method == "POST"
    ]
    assert created == ["status:investigating"]


@pytest.mark.parametrize(("login", "role"), [("bob", "triage"), ("carol", "maintain")])
async def test_a_role_is_read_without_the_nested_users_role_name(
    session: GitHubSession, login: str, role: str
) -> None:
    assert await role_of(session, REPO, login) == role
