"""githubkit's retry, as Baton's rule decides it: reads and idempotent writes are tried again
after a 5xx, a content-creating request never is, a short rate limit is waited out, a long one
asks for the whole unit of work later, and a rejected token is replaced once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.demo.harness import REPO
from app.github.client import (
    AmbiguousWrite,
    GitHubBusy,
    GitHubSession,
    GitHubUnavailable,
)
from app.github.issues import load_issue, split_repo
from app.sandbox import Fault, StandIn

ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
TOKENS = "/app/installations/{installation_id}/access_tokens"


async def comment(session: GitHubSession, number: int) -> None:
    owner, name = split_repo(REPO)
    await session.write(
        lambda: session.rest.issues.async_create_comment(owner, name, number, body="hello"),
        idempotent=False,
        content_creating=True,
    )


async def test_a_read_is_tried_again_after_a_server_error(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    standin.faults.add(Fault(method="GET", route=ISSUE, status=502, times=2))

    assert (await load_issue(session, REPO, number)).number == number
    assert standin.count(method="GET", route=ISSUE) == 3


async def test_a_read_failing_every_time_gives_up_after_two_retries(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    standin.faults.add(Fault(method="GET", route=ISSUE, status=500, times=5))

    with pytest.raises(GitHubUnavailable, match="GitHub 500"):
        await load_issue(session, REPO, number)
    assert standin.count(method="GET", route=ISSUE) == 3


async def test_a_content_creating_request_is_never_sent_twice(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    standin.faults.add(Fault(method="POST", route=COMMENTS, status=502))

    with pytest.raises(AmbiguousWrite, match="GitHub 502"):
        await comment(session, number)
    assert standin.count(method="POST", route=COMMENTS) == 1
    assert standin.comments(REPO, number) == []


async def test_a_content_creating_request_waits_out_a_short_secondary_rate_limit(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    standin.faults.add(
        Fault(method="POST", route=COMMENTS, kind="secondary_rate_limit", retry_after=0)
    )

    await comment(session, number)

    assert standin.count(method="POST", route=COMMENTS) == 2
    assert len(standin.comments(REPO, number)) == 1


async def test_a_long_rate_limit_asks_for_the_work_later(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    standin.faults.add(
        Fault(method="GET", route=ISSUE, kind="secondary_rate_limit", retry_after=90)
    )

    with pytest.raises(GitHubBusy) as busy:
        await load_issue(session, REPO, number)
    assert busy.value.after == timedelta(seconds=90)
    assert standin.count(method="GET", route=ISSUE) == 1


async def test_a_rejected_token_is_replaced_once(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    await load_issue(session, REPO, number)
    standin.world.tokens.clear()  # revoked: GitHub answers 401 to the cached token

    await load_issue(session, REPO, number)

    assert standin.count(method="POST", route=TOKENS) == 2
    assert standin.count(method="GET", route=ISSUE) == 3
