"""The stand-in as a GitHub Enterprise Server 3.17: its paths, its one API version, and answers
that carry only what that server's description guarantees."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.exception import RequestFailed

from app.sandbox import StandIn
from app.sandbox.editions import ENTERPRISE_SERVER
from app.sandbox.graphql import add_project
from tests.sandbox.helpers import APP_ID, NAME, OWNER, PROJECT_QUERY, REPO, SECRET, client_for


@pytest.fixture
def server(public_pem: bytes) -> StandIn:
    made = StandIn(
        app_id=APP_ID,
        app_public_key_pem=public_pem,
        webhook_secret=SECRET,
        edition=ENTERPRISE_SERVER,
    )
    made.add_org(OWNER)
    made.add_repo(REPO)
    made.set_role(REPO, "alice", "write")
    return made


@pytest.fixture
async def client(server: StandIn, private_pem: str) -> AsyncIterator[GitHub[Any]]:
    strategy = AppInstallationAuthStrategy(APP_ID, private_pem, server.install(OWNER))
    async with client_for(server, strategy) as gh:
        yield gh


async def test_a_version_it_does_not_serve_is_refused_with_githubs_400(
    client: GitHub[Any],
) -> None:
    with pytest.raises(RequestFailed) as refused:
        await client.rest("2026-03-10").issues.async_list_labels_for_repo(OWNER, NAME)
    assert refused.value.response.status_code == 400
    body = refused.value.response.json()
    assert body["message"].startswith(
        'The version you specified in the "X-GitHub-Api-Version" request header, "2026-03-10",'
        " is not a supported version."
    )
    assert '"2022-11-28" (most recent)' in body["message"]
    assert body["documentation_url"].startswith("https://docs.github.com/")


async def test_rest_is_under_api_v3_and_graphql_at_api_graphql(
    server: StandIn, client: GitHub[Any]
) -> None:
    assert server.base_url.endswith("/api/v3")
    add_project(server, OWNER, 7, "Incidents", {"Status": ["Investigating"]})
    response = await client.rest("2022-11-28").issues.async_list_for_repo(OWNER, NAME)
    assert response.status_code == 200
    assert str(response.raw_request.url).startswith("http://ghes.test/api/v3/repos/")
    data = await client.async_graphql(PROJECT_QUERY, {"login": OWNER, "number": 7})
    assert data["organization"]["projectV2"]["title"] == "Incidents"
    assert server.requests[-1].route == "/graphql"
    async with httpx.AsyncClient(transport=server.transport()) as browser:
        outside = await browser.get(f"http://ghes.test/repos/{REPO}/issues")
    assert outside.status_code == 404


async def test_labels_have_no_archive_fields_and_the_nested_user_no_role_name(
    server: StandIn, client: GitHub[Any]
) -> None:
    rest = client.rest("2022-11-28")
    created = await rest.issues.async_create_label(OWNER, NAME, name="incident", color="d73a4a")
    listed = await rest.issues.async_list_labels_for_repo(OWNER, NAME)
    for label in (created.json(), *listed.json()):
        assert label["name"] == "incident"
        assert "archived_at" not in label and "archived_by" not in label
    permission = await rest.repos.async_get_collaborator_permission_level(OWNER, NAME, "alice")
    assert permission.json()["role_name"] == "write"
    assert permission.json()["permission"] == "write"
    assert "role_name" not in permission.json()["user"]
