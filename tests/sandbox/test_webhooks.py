"""Webhooks: what GitHub sends, signed, in order, with the right sender, valid per the schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from githubkit import GitHub
from githubkit.webhooks import sign
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.sandbox import AsgiWebhookSink, StandIn
from tests.sandbox.helpers import APP_ID, NAME, OWNER, REPO, SECRET


class Receiver:
    """A tiny webhook receiver that keeps what it was sent."""

    def __init__(self, status: int = 202) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = status
        self.app = Starlette(routes=[Route("/webhooks", self.accept, methods=["POST"])])

    async def accept(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        return Response(status_code=self.status)


@pytest.fixture
def receiver(standin: StandIn) -> Receiver:
    receiver = Receiver()
    standin.hookshot.sink = AsgiWebhookSink(receiver.app)
    return receiver


async def test_human_changes_send_signed_webhooks(
    standin: StandIn, installation_id: int, receiver: Receiver
) -> None:
    await standin.open_issue(REPO, "Checkout down", "body", "alice", labels=["incident"])
    await standin.comment(REPO, 1, "/ack", "bob")
    await standin.settle()
    assert [(d.event, d.action, d.sender) for d in standin.deliveries] == [
        ("issues", "opened", "alice"),
        ("issues", "labeled", "alice"),
        ("issue_comment", "created", "bob"),
    ]
    headers, body = receiver.received[0]
    assert headers["x-hub-signature-256"] == sign(SECRET, body, "sha256")
    assert headers["x-hub-signature"] == sign(SECRET, body, "sha1")
    assert headers["x-github-event"] == "issues"
    assert headers["x-github-hook-installation-target-id"] == str(APP_ID)
    assert headers["x-github-hook-installation-target-type"] == "integration"
    assert headers["user-agent"].startswith("GitHub-Hookshot/")
    assert headers["content-type"] == "application/json"
    assert len({h["x-github-delivery"] for h, _ in receiver.received}) == 3
    payload = json.loads(body)
    assert payload["installation"]["id"] == installation_id
    assert payload["organization"]["login"] == OWNER
    assert [d.status_code for d in standin.deliveries] == [202, 202, 202]


async def test_app_changes_have_the_bot_as_sender(
    standin: StandIn, gh: GitHub[Any], receiver: Receiver
) -> None:
    await standin.open_issue(REPO, "Checkout down", "old card", "alice")
    await gh.rest.issues.async_update(OWNER, NAME, 1, body="new card", labels=["sev1"])
    await standin.settle()
    app_made = standin.deliveries[1:]
    assert [(d.action, d.sender) for d in app_made] == [
        ("edited", "baton[bot]"),
        ("labeled", "baton[bot]"),
    ]
    assert app_made[0].payload["changes"] == {"body": {"from": "old card"}}
    assert app_made[0].payload["sender"]["type"] == "Bot"


async def test_webhooks_are_not_sent_inside_the_request(
    standin: StandIn, gh: GitHub[Any], receiver: Receiver
) -> None:
    await standin.open_issue(REPO, "Checkout down", "", "alice")
    await standin.settle()
    await gh.rest.issues.async_create_comment(OWNER, NAME, 1, body="noted")
    assert len(receiver.received) == 1  # queued, not yet delivered
    await standin.settle()
    assert len(receiver.received) == 2


async def test_no_installation_no_webhooks(standin: StandIn) -> None:
    await standin.open_issue(REPO, "Checkout down", "", "alice")
    await standin.settle()
    assert standin.deliveries == []


async def test_every_action_validates_against_both_schemas(
    standin: StandIn, gh: GitHub[Any], webhook_schemas: Any
) -> None:
    await standin.open_issue(REPO, "Checkout down", "", "alice", labels=["incident"])
    await standin.edit_body(REPO, 1, "card", "alice")
    await standin.assign(REPO, 1, ["alice"], "bob")
    await gh.rest.issues.async_update(OWNER, NAME, 1, title="Checkout is down", assignees=[])
    await standin.remove_label(REPO, 1, "incident", "bob")
    comment = await standin.comment(REPO, 1, "/ack", "alice")
    await gh.rest.issues.async_update_comment(OWNER, NAME, comment["id"], body="/ack (edited)")
    await standin.close_issue(REPO, 1, "alice", reason="not_planned")
    await standin.reopen_issue(REPO, 1, "alice")
    await standin.settle()
    seen = {(d.event, d.action) for d in standin.deliveries}
    assert seen == {
        ("issues", action)
        for action in (
            "opened",
            "labeled",
            "edited",
            "assigned",
            "unassigned",
            "unlabeled",
            "closed",
            "reopened",
        )
    } | {("issue_comment", "created"), ("issue_comment", "edited")}
    for delivery in standin.deliveries:
        assert delivery.action is not None
        assert webhook_schemas(delivery.event, delivery.action, delivery.payload) == [], delivery
    title_edit = next(d for d in standin.deliveries if "title" in d.payload.get("changes", {}))
    assert title_edit.payload["changes"]["title"] == {"from": "Checkout down"}


async def test_payload_shape_matches_a_real_delivery(
    standin: StandIn, installation_id: int, reference: Any
) -> None:
    real = json.loads(
        (
            reference / "webhooks/api.github.com/issues/labeled.with-organization.payload.json"
        ).read_text()
    )
    await standin.open_issue(REPO, "Checkout down", "", "alice", labels=["incident"])
    await standin.settle()
    ours = standin.deliveries[1].payload
    assert set(real) <= set(ours)
    for part in ("issue", "label", "repository", "sender", "organization"):
        assert set(ours[part]) >= set(real[part]) - {"draft", "milestone"}, part


async def test_hook_deliveries_list_and_redeliver(
    standin: StandIn, app_client: GitHub[Any], receiver: Receiver, rest_schema: Any
) -> None:
    standin.install(OWNER)
    for n in range(3):
        await standin.open_issue(REPO, f"incident {n}", "", "alice")
    await standin.settle()
    first = await app_client.rest.apps.async_list_webhook_deliveries(per_page=2)
    assert [d.action for d in first.parsed_data] == ["opened", "opened"]
    for item in first.json():
        assert rest_schema("hook-delivery-item", item) == []
    assert 'rel="next"' in first.headers["link"]
    every = [
        d
        async for d in app_client.rest.paginate(
            app_client.rest.apps.async_list_webhook_deliveries, per_page=2
        )
    ]
    assert len(every) == 3 and len({d.id for d in every}) == 3
    newest = first.parsed_data[0]
    again = await app_client.rest.apps.async_redeliver_webhook_delivery(newest.id)
    assert again.status_code == 202
    await standin.settle()
    resent = standin.deliveries[-1]
    assert resent.redelivery and resent.delivery_id == newest.guid
    assert receiver.received[-1][1] == receiver.received[2][1]
    listed = (await app_client.rest.apps.async_list_webhook_deliveries()).parsed_data
    assert listed[0].redelivery and listed[0].guid == newest.guid


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(max_size=300))
async def test_signature_covers_any_body(standin: StandIn, installation_id: int, body: str) -> None:
    receiver = Receiver()
    standin.hookshot.sink = AsgiWebhookSink(receiver.app)
    await standin.open_issue(REPO, "title", body, "alice")
    await standin.settle()
    headers, raw = receiver.received[-1]
    assert headers["x-hub-signature-256"] == sign(SECRET, raw, "sha256")
    assert json.loads(raw)["issue"]["body"] == body


async def test_a_push_is_shaped_like_a_real_delivery(
    standin: StandIn, installation_id: int, reference: Any
) -> None:
    real = json.loads(
        (
            reference
            / "webhooks/api.github.com/push/example-5.branch-with-commit.with-installation"
            ".payload.json"
        ).read_text()
    )
    await standin.push_file(REPO, ".github/baton.yml", "severities: [p1, p2]\n", "alice")
    await standin.settle()
    [delivery] = standin.deliveries
    ours = delivery.payload
    assert (delivery.event, delivery.action, delivery.sender) == ("push", None, "alice")
    assert set(ours) >= set(real)
    assert set(ours["repository"]) >= set(real["repository"])
    assert set(ours["head_commit"]) == set(real["head_commit"])
    assert ours["installation"]["id"] == installation_id
    assert ours["ref"] == "refs/heads/main" and ours["created"]
    assert ours["head_commit"]["added"] == [".github/baton.yml"]
    assert isinstance(ours["repository"]["pushed_at"], int)


async def test_pushes_say_which_files_each_commit_changed(
    standin: StandIn, installation_id: int
) -> None:
    standin.put_file(REPO, "README.md", "# Web\n")
    await standin.push(
        REPO, [{"README.md": "# Web shop\n"}, {"docs/a.md": "a", "README.md": None}], "alice"
    )
    await standin.push_file(REPO, "docs/a.md", "b", "alice", branch="draft")
    await standin.settle()
    to_main, to_draft = (d.payload for d in standin.deliveries)
    assert [(c["added"], c["modified"], c["removed"]) for c in to_main["commits"]] == [
        ([], ["README.md"], []),
        (["docs/a.md"], [], ["README.md"]),
    ]
    assert to_main["before"] == "0" * 40 and to_main["after"] == to_main["commits"][-1]["id"]
    assert to_draft["ref"] == "refs/heads/draft"
    repo = standin.world.repo(REPO)
    assert repo is not None and repo.files["docs/a.md"].text == "a"  # the draft is not main


async def test_a_push_lists_its_latest_twenty_commits(
    standin: StandIn, installation_id: int
) -> None:
    await standin.push(REPO, [{"notes.md": f"{n}"} for n in range(25)], "alice")
    await standin.settle()
    [delivery] = standin.deliveries
    assert len(delivery.payload["commits"]) == 20
    assert delivery.payload["commits"][-1]["id"] == delivery.payload["after"]
