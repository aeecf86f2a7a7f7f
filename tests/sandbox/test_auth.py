"""App JWTs, installation tokens, refusals and rate-limit headers."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed

from app.demo.harness import MovableClock as FakeClock
from app.sandbox import StandIn
from tests.sandbox.helpers import APP_ID, NAME, OWNER, REPO, client_for


async def test_app_routes_parse_with_jwt(
    standin: StandIn, app_client: GitHub[Any], installation_id: int, rest_schema: Any
) -> None:
    app = await app_client.rest.apps.async_get_authenticated()
    assert app.parsed_data is not None
    assert (app.parsed_data.id, app.parsed_data.slug) == (APP_ID, "baton")
    assert rest_schema("integration", app.json()) == []
    found = await app_client.rest.apps.async_get_repo_installation(OWNER, NAME)
    assert found.parsed_data.id == installation_id
    assert rest_schema("installation", found.json()) == []
    minted = await app_client.rest.apps.async_create_installation_access_token(installation_id)
    assert minted.status_code == 201 and minted.parsed_data.token.startswith("ghs_")
    assert rest_schema("installation-token", minted.json()) == []


async def test_repo_without_installation_is_404_for_the_app(
    standin: StandIn, app_client: GitHub[Any]
) -> None:
    standin.add_repo("someone/else")
    with pytest.raises(RequestFailed) as missing:
        await app_client.rest.apps.async_get_repo_installation("someone", "else")
    assert missing.value.response.status_code == 404


def jwt_for(private_pem: str, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode(
        {"iss": str(APP_ID), "iat": now - 30, "exp": now + 300, **claims}, private_pem, "RS256"
    )


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "999"},  # another App
        {"exp": int(time.time()) - 120},  # expired
        {"iat": int(time.time()) - 60, "exp": int(time.time()) + 900},  # lives over 10 minutes
    ],
)
async def test_bad_jwts_are_refused(
    standin: StandIn, private_pem: str, claims: dict[str, Any]
) -> None:
    token = jwt_for(private_pem, **claims)
    async with raw_client(standin, token) as raw:
        response = await raw.get("/app")
    assert response.status_code == 401


async def test_jwt_signed_by_another_key_is_refused(standin: StandIn) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = stranger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    async with raw_client(standin, jwt_for(pem)) as raw:
        assert (await raw.get("/app")).status_code == 401


async def test_repo_routes_need_an_installation_token(
    standin: StandIn, private_pem: str, installation_id: int
) -> None:
    await standin.open_issue(REPO, "down", "", "alice")
    async with raw_client(standin, None) as anonymous:
        refused = await anonymous.get(f"/repos/{REPO}/issues/1")
    assert refused.status_code == 401 and refused.json()["message"] == "Bad credentials"
    async with raw_client(standin, jwt_for(private_pem)) as as_app:
        assert (await as_app.get(f"/repos/{REPO}/issues/1")).status_code == 401
    async with raw_client(standin, "ghs_made_up") as forged:
        assert (await forged.get(f"/repos/{REPO}/issues/1")).status_code == 401


async def test_token_expires_after_an_hour_of_the_standin_clock(
    standin: StandIn, clock: FakeClock, installation_id: int
) -> None:
    await standin.open_issue(REPO, "down", "", "alice")
    minted = standin.api.issue_token(standin.world.installations[installation_id])
    async with raw_client(standin, minted) as raw:
        assert (await raw.get(f"/repos/{REPO}/issues/1")).status_code == 200
        clock.advance(minutes=61)
        assert (await raw.get(f"/repos/{REPO}/issues/1")).status_code == 401


async def test_repo_outside_the_installation_is_404(standin: StandIn, private_pem: str) -> None:
    standin.add_repo("acme/secret")
    chosen = standin.install(OWNER, repos=["web"])
    await standin.open_issue("acme/secret", "hidden", "", "acme")
    from githubkit import AppInstallationAuthStrategy

    async with client_for(standin, AppInstallationAuthStrategy(APP_ID, private_pem, chosen)) as gh:
        with pytest.raises(RequestFailed) as hidden:
            await gh.rest.issues.async_get("acme", "secret", 1)
    assert hidden.value.response.status_code == 404


async def test_missing_permission_is_403(standin: StandIn, private_pem: str) -> None:
    read_only = standin.install(OWNER, permissions={"issues": "read", "metadata": "read"})
    await standin.open_issue(REPO, "down", "", "alice")
    from githubkit import AppInstallationAuthStrategy

    async with client_for(
        standin, AppInstallationAuthStrategy(APP_ID, private_pem, read_only)
    ) as gh:
        assert (await gh.rest.issues.async_get(OWNER, NAME, 1)).status_code == 200
        with pytest.raises(RequestFailed) as refused:
            await gh.rest.issues.async_create_comment(OWNER, NAME, 1, body="/ack")
        with pytest.raises(RequestFailed) as no_contents:
            await gh.rest.repos.async_get_content(OWNER, NAME, "x.yml")
    assert refused.value.response.status_code == 403
    assert refused.value.response.json()["message"] == "Resource not accessible by integration"
    assert no_contents.value.response.status_code == 403
    assert standin.comments(REPO, 1) == []


async def test_actions_token_covers_one_repo_and_acts_as_github_actions(
    standin: StandIn,
) -> None:
    standin.add_repo("acme/other")
    await standin.open_issue(REPO, "down", "", "alice")
    await standin.open_issue("acme/other", "elsewhere", "", "alice")
    async with raw_client(standin, standin.actions_token(REPO)) as raw:
        made = await raw.post(f"/repos/{REPO}/issues/1/comments", json={"body": "/ack"})
        elsewhere = await raw.get("/repos/acme/other/issues/1")
    assert made.status_code == 201 and made.json()["user"]["login"] == "github-actions[bot]"
    assert elsewhere.status_code == 404


async def test_rate_limit_headers_count_per_installation(standin: StandIn, gh: GitHub[Any]) -> None:
    await standin.open_issue(REPO, "down", "", "alice")
    first = await gh.rest.issues.async_get(OWNER, NAME, 1)
    second = await gh.rest.issues.async_list_comments(OWNER, NAME, 1)
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert first.headers["x-ratelimit-resource"] == "core"
    assert int(first.headers["x-ratelimit-used"]) + 1 == int(second.headers["x-ratelimit-used"])
    assert int(second.headers["x-ratelimit-remaining"]) == 5000 - int(
        second.headers["x-ratelimit-used"]
    )
    assert int(second.headers["x-ratelimit-reset"]) > int(time.time()) - 120


def raw_client(standin: StandIn, credential: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    return httpx.AsyncClient(
        transport=standin.transport(), base_url=standin.base_url, headers=headers
    )
