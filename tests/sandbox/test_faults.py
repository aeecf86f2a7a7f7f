"""Planned faults as a GitHub client sees them, the request log, and serving over a socket."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from githubkit import AppInstallationAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import (
    PrimaryRateLimitExceeded,
    RequestError,
    RequestFailed,
    SecondaryRateLimitExceeded,
)

from app.demo.harness import serving
from app.sandbox import Fault, StandIn
from tests.sandbox.helpers import APP_ID, NAME, OWNER, REPO

ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"


@pytest.fixture
async def incident(standin: StandIn, installation_id: int) -> int:
    issue = await standin.open_issue(REPO, "Checkout down", "", "alice")
    return int(issue["number"])


async def test_status_fault_uses_github_error_body(
    standin: StandIn, gh: GitHub[Any], incident: int
) -> None:
    standin.faults.add(Fault(method="GET", route=ISSUE, status=502, times=2))
    for _ in range(2):
        with pytest.raises(RequestFailed) as failed:
            await gh.rest.issues.async_get(OWNER, NAME, incident)
        assert failed.value.response.status_code == 502
        assert failed.value.response.json()["message"] == "Bad Gateway"
    assert (await gh.rest.issues.async_get(OWNER, NAME, incident)).status_code == 200


async def test_secondary_rate_limit(standin: StandIn, gh: GitHub[Any], incident: int) -> None:
    standin.faults.add(Fault(route=COMMENTS, kind="secondary_rate_limit", retry_after=7))
    with pytest.raises(SecondaryRateLimitExceeded) as limited:
        await gh.rest.issues.async_create_comment(OWNER, NAME, incident, body="/ack")
    assert limited.value.retry_after.total_seconds() == 7
    assert standin.comments(REPO, incident) == []


@pytest.mark.parametrize("status", [403, 429])
async def test_primary_rate_limit(
    standin: StandIn, gh: GitHub[Any], incident: int, status: int
) -> None:
    standin.faults.add(Fault(route=ISSUE, kind="rate_limit", status=status, retry_after=30))
    with pytest.raises(PrimaryRateLimitExceeded) as limited:
        await gh.rest.issues.async_get(OWNER, NAME, incident)
    response = limited.value.response
    assert response.status_code == status and response.headers["x-ratelimit-remaining"] == "0"
    assert "retry-after" not in response.headers


async def test_slow_fault_delays_the_answer(
    standin: StandIn, gh: GitHub[Any], incident: int
) -> None:
    standin.faults.add(Fault(route=ISSUE, kind="slow", delay=0.2))
    started = time.perf_counter()
    assert (await gh.rest.issues.async_get(OWNER, NAME, incident)).status_code == 200
    assert time.perf_counter() - started >= 0.2


async def test_drop_applies_the_write_then_cuts_the_connection(
    standin: StandIn, gh: GitHub[Any], incident: int
) -> None:
    standin.faults.add(Fault(method="POST", route=COMMENTS, kind="drop"))
    with pytest.raises(RequestError) as dropped:
        await gh.rest.issues.async_create_comment(OWNER, NAME, incident, body="/ack")
    assert isinstance(dropped.value.__cause__, httpx.ReadError)
    assert [c["body"] for c in standin.comments(REPO, incident)] == ["/ack"]


async def test_drop_over_a_real_socket(
    standin: StandIn, private_pem: str, installation_id: int, incident: int
) -> None:
    strategy = AppInstallationAuthStrategy(APP_ID, private_pem, installation_id)
    async with (
        serving(standin.app, lifespan="off") as base_url,
        GitHub(
            strategy, base_url=base_url, auto_retry=False, cache_strategy=MemCacheStrategy()
        ) as gh,
    ):
        fetched = await gh.rest.issues.async_get(OWNER, NAME, incident)
        assert fetched.parsed_data.title == "Checkout down"
        standin.faults.add(Fault(method="PATCH", route=ISSUE, kind="drop"))
        with pytest.raises(RequestError) as dropped:
            await gh.rest.issues.async_update(OWNER, NAME, incident, state="closed")
        assert isinstance(dropped.value.__cause__, httpx.TransportError)
    assert standin.issue(REPO, incident)["state"] == "closed"


async def test_request_log_counts(standin: StandIn, gh: GitHub[Any], incident: int) -> None:
    await gh.rest.issues.async_get(OWNER, NAME, incident)
    standin.reset_requests()
    await gh.rest.issues.async_get(OWNER, NAME, incident)
    await gh.rest.issues.async_create_comment(OWNER, NAME, incident, body="/ack")
    comment_id = standin.comments(REPO, incident)[0]["id"]
    await gh.rest.reactions.async_create_for_issue_comment(OWNER, NAME, comment_id, content="+1")
    await gh.rest.issues.async_update(OWNER, NAME, incident, labels=["sev1"])
    created = await gh.rest.issues.async_create(OWNER, NAME, title="follow-up")
    assert created.status_code == 201
    assert standin.count() == 5
    assert standin.count(writes_only=True) == 4
    assert standin.count(content_creating=True) == 2
    assert standin.count(method="GET", route=ISSUE) == 1
    logged = standin.requests[1]
    assert (logged.method, logged.route, logged.status, logged.json) == (
        "POST",
        COMMENTS,
        201,
        {"body": "/ack"},
    )
    assert (
        logged.installation_id
        == standin.world.installations[next(iter(standin.world.installations))].id
    )
    assert logged.path == f"/repos/{REPO}/issues/{incident}/comments"


def test_unknown_fault_kind_is_rejected() -> None:
    with pytest.raises(ValueError):
        Fault(kind="gremlins")
