"""Lists longer than a page, read page after page as GitHub's `Link` header leads: every item,
and never a request for a page that is not there."""

from __future__ import annotations

from app.demo.harness import REPO
from app.github.client import GitHubSession
from app.github.issues import ensure_labels, list_comments, post_reply
from app.incident.effects import Reply
from app.sandbox import StandIn

COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
LABELS = "/repos/{owner}/{repo}/labels"


async def test_every_comment_of_three_pages_is_listed(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    for n in range(230):
        await standin.comment(REPO, number, f"comment {n}", "alice")

    comments = await list_comments(session, REPO, number)

    assert [c.body for c in comments] == [f"comment {n}" for n in range(230)]
    assert standin.count(method="GET", route=COMMENTS) == 3


async def test_two_full_pages_take_two_requests(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    for n in range(200):
        await standin.comment(REPO, number, f"comment {n}", "alice")

    assert len(await list_comments(session, REPO, number)) == 200
    assert standin.count(method="GET", route=COMMENTS) == 2


async def test_a_marker_on_the_second_page_is_found(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    for n in range(120):
        await standin.comment(REPO, number, f"comment {n}", "alice")
    await standin.comment(REPO, number, "posted\n\n<!-- baton:reply r1 -->", "alice")

    await post_reply(session, REPO, number, Reply(key="r1", body="posted"), check_first=True)

    assert standin.count(method="POST", route=COMMENTS) == 0
    assert standin.count(method="GET", route=COMMENTS) == 2


async def test_labels_on_a_later_page_are_known(
    standin: StandIn, session: GitHubSession, number: int
) -> None:
    await standin.add_labels(REPO, number, [f"area-{n:03}" for n in range(150)], "alice")

    created = await ensure_labels(session, REPO, ["area-149", "incident-new"])

    assert created == ["incident-new"]
    assert standin.count(method="GET", route=LABELS) == 2
