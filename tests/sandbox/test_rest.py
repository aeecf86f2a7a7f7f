"""Every REST route, called through githubkit (typed parsing) and checked against the schemas."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from githubkit import GitHub
from githubkit.exception import RequestFailed

from app.sandbox import StandIn
from tests.sandbox.helpers import NAME, OWNER, REPO


async def opened(standin: StandIn, title: str = "Checkout is down", **kw: Any) -> int:
    issue = await standin.open_issue(REPO, title, "Customers see 502s", "alice", **kw)
    return int(issue["number"])


async def test_get_issue_parses_and_matches_schema(
    standin: StandIn, gh: GitHub[Any], rest_schema: Any
) -> None:
    number = await opened(standin, labels=["incident"])
    response = await gh.rest.issues.async_get(OWNER, NAME, number)
    issue = response.parsed_data
    assert (issue.title, issue.state, issue.user and issue.user.login) == (
        "Checkout is down",
        "open",
        "alice",
    )
    assert [label.name for label in issue.labels if not isinstance(label, str)] == ["incident"]
    assert rest_schema("issue", response.json()) == []


async def test_create_and_update_issue(standin: StandIn, gh: GitHub[Any], rest_schema: Any) -> None:
    created = await gh.rest.issues.async_create(
        OWNER, NAME, title="Pager storm", body="card", labels=["sev2"], assignees=["alice"]
    )
    assert created.status_code == 201
    assert rest_schema("issue", created.json()) == []
    number = created.parsed_data.number
    updated = await gh.rest.issues.async_update(
        OWNER,
        NAME,
        number,
        body="new card",
        state="closed",
        state_reason="completed",
        labels=["sev1", "incident"],
        assignees=["bob", "mallory", "nobody-at-all"],
    )
    issue = updated.parsed_data
    assert issue.state == "closed" and issue.state_reason == "completed"
    assert sorted(lb.name for lb in issue.labels if not isinstance(lb, str)) == ["incident", "sev1"]
    assert [a.login for a in issue.assignees or []] == ["bob"]  # the others cannot be assigned
    assert issue.body == "new card"
    labels = (await gh.rest.issues.async_list_labels_for_repo(OWNER, NAME)).parsed_data
    created_label = next(lb for lb in labels if lb.name == "sev1")
    assert created_label.color == "ededed"


async def test_comments_create_get_update_list(
    standin: StandIn, gh: GitHub[Any], rest_schema: Any
) -> None:
    number = await opened(standin)
    made = await gh.rest.issues.async_create_comment(OWNER, NAME, number, body="/ack")
    assert made.status_code == 201 and rest_schema("issue-comment", made.json()) == []
    comment_id = made.parsed_data.id
    fetched = (await gh.rest.issues.async_get_comment(OWNER, NAME, comment_id)).parsed_data
    assert fetched.user and fetched.user.login == "baton[bot]" and fetched.user.type == "Bot"
    edited = await gh.rest.issues.async_update_comment(OWNER, NAME, comment_id, body="/ack!")
    assert edited.parsed_data.body == "/ack!"
    listed = await gh.rest.issues.async_list_comments(OWNER, NAME, number)
    assert [c.body for c in listed.parsed_data] == ["/ack!"]
    assert standin.comments(REPO, number)[0]["body"] == "/ack!"


async def test_comments_since_filter(standin: StandIn, gh: GitHub[Any], clock: Any) -> None:
    number = await opened(standin)
    await standin.comment(REPO, number, "early", "alice")
    clock.advance(minutes=5)
    await standin.comment(REPO, number, "late", "bob")
    since = clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = await gh.rest.issues.async_list_comments(OWNER, NAME, number, since=since)
    assert [c.body for c in listed.parsed_data] == ["late"]


async def test_since_must_be_iso_8601(standin: StandIn, gh: GitHub[Any], clock: Any) -> None:
    number = await opened(standin)
    with pytest.raises(RequestFailed) as refused:  # what httpx writes for a datetime
        await gh.rest.issues.async_list_comments(OWNER, NAME, number, since=clock.now)
    assert refused.value.response.status_code == 422


async def test_labels_create_conflict_add_remove(
    standin: StandIn, gh: GitHub[Any], rest_schema: Any
) -> None:
    made = await gh.rest.issues.async_create_label(OWNER, NAME, name="sev1", color="b60205")
    assert made.status_code == 201 and rest_schema("label", made.json()) == []
    with pytest.raises(RequestFailed) as conflict:
        await gh.rest.issues.async_create_label(OWNER, NAME, name="SEV1", color="b60205")
    assert conflict.value.response.status_code == 422
    body = conflict.value.response.json()
    assert rest_schema("validation-error", body) == []
    assert body["errors"] == [{"resource": "Label", "code": "already_exists", "field": "name"}]

    number = await opened(standin)
    added = await gh.rest.issues.async_add_labels(OWNER, NAME, number, labels=["sev1", "new"])
    assert [lb.name for lb in added.parsed_data] == ["sev1", "new"]
    removed = await gh.rest.issues.async_remove_label(OWNER, NAME, number, "sev1")
    assert [lb.name for lb in removed.parsed_data] == ["new"]
    with pytest.raises(RequestFailed) as missing:
        await gh.rest.issues.async_remove_label(OWNER, NAME, number, "sev1")
    assert missing.value.response.status_code == 404


async def test_assignees_add_remove_check(standin: StandIn, gh: GitHub[Any]) -> None:
    number = await opened(standin)
    added = await gh.rest.issues.async_add_assignees(
        OWNER, NAME, number, assignees=["alice", "erin", "mallory"]
    )
    assert added.status_code == 201
    assert [a.login for a in added.parsed_data.assignees or []] == ["alice", "erin"]
    removed = await gh.rest.issues.async_remove_assignees(OWNER, NAME, number, assignees=["alice"])
    assert [a.login for a in removed.parsed_data.assignees or []] == ["erin"]
    ok = await gh.rest.issues.async_check_user_can_be_assigned(OWNER, NAME, "bob")
    assert ok.status_code == 204
    with pytest.raises(RequestFailed) as refused:
        await gh.rest.issues.async_check_user_can_be_assigned(OWNER, NAME, "mallory")
    assert refused.value.response.status_code == 404


async def test_reactions_201_then_200(standin: StandIn, gh: GitHub[Any], rest_schema: Any) -> None:
    number = await opened(standin)
    comment = await standin.comment(REPO, number, "/ack", "alice")
    first = await gh.rest.reactions.async_create_for_issue_comment(
        OWNER, NAME, comment["id"], content="eyes"
    )
    again = await gh.rest.reactions.async_create_for_issue_comment(
        OWNER, NAME, comment["id"], content="eyes"
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.parsed_data.id == again.parsed_data.id
    assert rest_schema("reaction", first.json()) == []
    assert standin.comments(REPO, number)[0]["reactions"]["eyes"] == 1


async def test_a_deleted_comment_is_gone_for_reading_and_reacting(
    standin: StandIn, gh: GitHub[Any]
) -> None:
    number = await opened(standin)
    comment = await standin.comment(REPO, number, "/ack", "alice")
    await standin.delete_comment(REPO, comment["id"], "alice")

    for call in (
        lambda: gh.rest.issues.async_get_comment(OWNER, NAME, comment["id"]),
        lambda: gh.rest.reactions.async_create_for_issue_comment(
            OWNER, NAME, comment["id"], content="eyes"
        ),
    ):
        with pytest.raises(RequestFailed) as refused:
            await call()
        assert refused.value.response.status_code == 404
    assert standin.comments(REPO, number) == []
    await standin.settle()
    assert ("issue_comment", "deleted") in {(d.event, d.action) for d in standin.deliveries}


@pytest.mark.parametrize(
    ("login", "permission", "role_name"),
    [
        ("alice", "write", "write"),
        ("bob", "read", "triage"),
        ("erin", "write", "maintain"),
        ("acme", "admin", "admin"),
        ("mallory", "read", "read"),  # a public repository: read for anyone
    ],
)
async def test_collaborator_permission(
    gh: GitHub[Any], rest_schema: Any, login: str, permission: str, role_name: str
) -> None:
    response = await gh.rest.repos.async_get_collaborator_permission_level(OWNER, NAME, login)
    parsed = response.parsed_data
    assert (parsed.permission, parsed.role_name) == (permission, role_name)
    assert rest_schema("repository-collaborator-permission", response.json()) == []


async def test_read_on_a_public_repository_is_not_access(standin: StandIn, gh: GitHub[Any]) -> None:
    """Anyone reads a public repository, but only explicit access makes a user assignable;
    a private repository reports no access at all for a stranger."""
    standin.add_repo(f"{OWNER}/vault", private=True)
    public = await gh.rest.repos.async_get_collaborator_permission_level(OWNER, NAME, "mallory")
    private = await gh.rest.repos.async_get_collaborator_permission_level(OWNER, "vault", "mallory")
    assert public.parsed_data.role_name == "read" and private.parsed_data.role_name == "none"
    with pytest.raises(RequestFailed) as refused:
        await gh.rest.issues.async_check_user_can_be_assigned(OWNER, NAME, "mallory")
    assert refused.value.response.status_code == 404
    standin.set_role(REPO, "mallory", "read")
    granted = await gh.rest.issues.async_check_user_can_be_assigned(OWNER, NAME, "mallory")
    assert granted.status_code == 204


async def test_collaborator_permission_unknown_user_is_404(gh: GitHub[Any]) -> None:
    with pytest.raises(RequestFailed) as missing:
        await gh.rest.repos.async_get_collaborator_permission_level(OWNER, NAME, "ghost")
    assert missing.value.response.json() == {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest",
        "status": "404",
    }


async def test_team_membership(standin: StandIn, gh: GitHub[Any]) -> None:
    standin.add_team(OWNER, "oncall", ["alice"])
    member = await gh.rest.teams.async_get_membership_for_user_in_org(OWNER, "oncall", "alice")
    assert (member.parsed_data.state, member.parsed_data.role) == ("active", "member")
    with pytest.raises(RequestFailed) as outsider:
        await gh.rest.teams.async_get_membership_for_user_in_org(OWNER, "oncall", "bob")
    assert outsider.value.response.status_code == 404


async def test_contents_file(standin: StandIn, gh: GitHub[Any], rest_schema: Any) -> None:
    text = "severities: [sev1, sev2]\n" * 10
    standin.put_file(REPO, ".github/baton.yml", text)
    response = await gh.rest.repos.async_get_content(OWNER, NAME, ".github/baton.yml")
    assert rest_schema("content-file", response.json()) == []
    parsed = response.parsed_data
    assert base64.b64decode(parsed.content).decode() == text  # type: ignore[union-attr]
    with pytest.raises(RequestFailed) as missing:
        await gh.rest.repos.async_get_content(OWNER, NAME, ".github/nope.yml")
    assert missing.value.response.status_code == 404


async def test_etag_304_has_no_body_and_spends_no_rate_limit(
    standin: StandIn, gh: GitHub[Any]
) -> None:
    number = await opened(standin)
    standin.put_file(REPO, "docs/runbook.md", "# Runbook")
    token = standin.actions_token(REPO)
    headers = {"Authorization": f"token {token}"}
    async with httpx.AsyncClient(
        transport=standin.transport(), base_url=standin.base_url, headers=headers
    ) as raw:
        for path in (f"/repos/{REPO}/issues/{number}", f"/repos/{REPO}/contents/docs/runbook.md"):
            first = await raw.get(path)
            remaining = int(first.headers["x-ratelimit-remaining"])
            again = await raw.get(path, headers={"If-None-Match": first.headers["etag"]})
            assert (again.status_code, again.content) == (304, b"")
            assert int(again.headers["x-ratelimit-remaining"]) == remaining
        await standin.add_labels(REPO, number, ["sev3"], "alice")
        changed = await raw.get(
            f"/repos/{REPO}/issues/{number}", headers={"If-None-Match": first.headers["etag"]}
        )
        assert changed.status_code == 200


async def test_githubkit_revalidates_with_etag(standin: StandIn, gh: GitHub[Any]) -> None:
    number = await opened(standin)
    route = "/repos/{owner}/{repo}/issues/{issue_number}"
    first = await gh.rest.issues.async_get(OWNER, NAME, number)
    second = await gh.rest.issues.async_get(OWNER, NAME, number)
    assert second.parsed_data.title == first.parsed_data.title
    assert [r.status for r in standin.requests if r.route == route] == [200, 304]


async def test_list_issues_filters_and_link_pagination(
    standin: StandIn, gh: GitHub[Any], clock: Any
) -> None:
    for n in range(7):
        clock.advance(minutes=1)
        await opened(standin, f"incident {n}", labels=["incident", "sev2" if n % 2 else "sev3"])
    await standin.close_issue(REPO, 1, "alice")
    first = await gh.rest.issues.async_list_for_repo(
        OWNER, NAME, labels="incident,sev3", per_page=2, direction="asc"
    )
    assert [i.title for i in first.parsed_data] == ["incident 2", "incident 4"]
    assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
    numbers = [
        issue.number
        async for issue in gh.rest.paginate(
            gh.rest.issues.async_list_for_repo, owner=OWNER, repo=NAME, state="all", per_page=3
        )
    ]
    assert numbers == [7, 6, 5, 4, 3, 2, 1]
    # githubkit follows rel="next" links: 3 pages, then stops
    assert standin.count(route="/repos/{owner}/{repo}/issues", method="GET") == 1 + 3
    closed = await gh.rest.issues.async_list_for_repo(OWNER, NAME, state="closed")
    assert [i.number for i in closed.parsed_data] == [1]


async def test_timeline(standin: StandIn, gh: GitHub[Any], rest_schema: Any) -> None:
    number = await opened(standin, labels=["incident"])
    await standin.assign(REPO, number, ["alice"], "alice")
    await standin.comment(REPO, number, "/ack", "alice")
    await standin.remove_label(REPO, number, "incident", "bob")
    await standin.close_issue(REPO, number, "alice")
    await standin.reopen_issue(REPO, number, "alice")
    response = await gh.rest.issues.async_list_events_for_timeline(OWNER, NAME, number)
    events = [getattr(e, "event", None) for e in response.parsed_data]
    assert events == ["labeled", "assigned", "commented", "unlabeled", "closed", "reopened"]
    for item in response.json():
        assert rest_schema("timeline-issue-events", item) == []


async def test_search_issues(standin: StandIn, gh: GitHub[Any], rest_schema: Any) -> None:
    await opened(standin, "Database failover", labels=["incident"])
    await opened(standin, "Database slow", labels=["chore"])
    await standin.close_issue(REPO, 1, "alice")
    await opened(standin, "Cache down", labels=["incident"])
    found = await gh.rest.search.async_issues_and_pull_requests(
        q=f"repo:{REPO} is:issue label:incident is:open"
    )
    assert [i.title for i in found.parsed_data.items] == ["Cache down"]
    words = await gh.rest.search.async_issues_and_pull_requests(q=f"repo:{REPO} database")
    assert words.parsed_data.total_count == 2
    assert found.headers["x-ratelimit-resource"] == "search"
    assert found.headers["x-ratelimit-limit"] == "30"
    for item in words.json()["items"]:
        assert rest_schema("issue-search-result-item", item) == []


BODY_LIMIT = 65_536  # characters, as GitHub counts them (not bytes)
TOO_LONG = {
    "code": "custom",
    "field": "body",
    "message": "body is too long (maximum is 65536 characters)",
}


async def test_bodies_longer_than_githubs_limit_are_refused_with_422(
    standin: StandIn, gh: GitHub[Any], rest_schema: Any
) -> None:
    number = await opened(standin)
    comment_id = (
        await gh.rest.issues.async_create_comment(OWNER, NAME, number, body="/ack")
    ).parsed_data.id
    widest = "é" * BODY_LIMIT  # twice as many bytes as characters: fits
    too_long = "x" * (BODY_LIMIT + 1)
    refusals = {
        "Issue": [
            lambda: gh.rest.issues.async_create(OWNER, NAME, title="t", body=too_long),
            lambda: gh.rest.issues.async_update(OWNER, NAME, number, body=too_long),
        ],
        "IssueComment": [
            lambda: gh.rest.issues.async_create_comment(OWNER, NAME, number, body=too_long),
            lambda: gh.rest.issues.async_update_comment(OWNER, NAME, comment_id, body=too_long),
        ],
    }
    for resource, calls in refusals.items():
        for call in calls:
            with pytest.raises(RequestFailed) as refused:
                await call()
            answer = refused.value.response
            assert answer.status_code == 422
            assert answer.json()["message"] == "Validation Failed"
            assert answer.json()["errors"] == [{"resource": resource, **TOO_LONG}]
            assert rest_schema("validation-error", answer.json()) == []

    assert standin.issue(REPO, number)["body"] == "Customers see 502s"
    assert [c["body"] for c in standin.comments(REPO, number)] == ["/ack"]
    assert len(standin.issues(REPO)) == 1
    await gh.rest.issues.async_update(OWNER, NAME, number, body=widest)
    await gh.rest.issues.async_create_comment(OWNER, NAME, number, body=widest)
    assert standin.issue(REPO, number)["body"] == widest
