"""Triage: deliveries that cannot matter are acknowledged without being stored, and nothing a
handler would act on is among them.

A whole incident is played through the server; then every delivery GitHub sent is looked at:
what was stored, and, for each one that was not, what its handler does with it (nothing, and
without a single request).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.demo.harness import REPO, Stage
from app.entry.credentials import state_key
from app.github.config_source import ConfigCache
from app.handlers.events import Event, Known, glance
from app.handlers.router import route_for
from app.handlers.triage import Triage
from app.handlers.work import Work
from app.sandbox.webhooks import SentDelivery
from tests.e2e.helpers import open_incident

BOT = "baton[bot]"
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "github-reference" / "webhooks"


async def play_an_incident(world: Stage) -> dict[str, int]:
    """Commands, chatter, labels nobody follows, a resolution and a reply from the community."""
    standin = world.standin
    number = await open_incident(world)
    other = (await standin.open_issue(REPO, "Typo in the footer", "teh", "dave"))["number"]
    await world.settle()
    await standin.comment(REPO, number, "/status identified\n/note the cache is cold", "alice")
    await standin.comment(REPO, number, "Looking at the dashboards now.", "bob")
    await standin.comment(REPO, other, "Good catch, thanks!", "carol")
    await standin.add_labels(REPO, other, ["bug"], "alice")
    await standin.add_labels(REPO, number, ["bug"], "alice")
    await world.settle()
    await standin.comment(REPO, number, "/resolved the cache was warmed", "alice")
    await world.settle()
    await standin.comment(REPO, number, "Works for me again, thank you.", "rita")
    await standin.close_issue(REPO, other, "alice")
    await world.settle()
    return {"incident": number, "other": other}


def body_of(delivery: SentDelivery) -> bytes:
    return json.dumps(delivery.payload).encode()


def said(delivery: SentDelivery) -> str:
    comment = delivery.payload.get("comment") or {}
    return str(comment.get("body", ""))


async def test_only_deliveries_that_can_matter_are_stored(world: Stage) -> None:
    await play_an_incident(world)
    store = world.service.store
    stored = {d.delivery_id for d in world.standin.deliveries if await store.get(d.delivery_id)}
    people = [d for d in world.standin.deliveries if d.sender != BOT]
    by_text = {said(d): d.delivery_id in stored for d in people if d.event == "issue_comment"}

    assert all(d.status_code == 202 for d in world.standin.deliveries)
    assert not [d for d in world.standin.deliveries if d.sender == BOT and d.delivery_id in stored]
    assert by_text == {
        "/status identified\n/note the cache is cold": True,
        "Looking at the dashboards now.": False,  # the incident is not resolved: chatter
        "Good catch, thanks!": False,  # not an incident
        "/resolved the cache was warmed": True,
        "Works for me again, thank you.": True,  # a reply on a resolved incident
    }
    incident_label = [
        d for d in people if d.action == "labeled" and d.payload["label"]["name"] == "incident"
    ]
    assert [d.delivery_id in stored for d in incident_label] == [True]
    bug_label = [d for d in people if d.action == "labeled" and d.payload["label"]["name"] == "bug"]
    assert [d.delivery_id in stored for d in bug_label] == [False, False]
    stored_share = len(stored) / len(world.standin.deliveries)
    assert stored_share < 0.5, f"{len(stored)} of {len(world.standin.deliveries)} stored"


async def test_what_is_not_stored_its_handler_would_drop_without_a_request(world: Stage) -> None:
    await play_an_incident(world)
    store = world.service.store
    dropped = [
        d
        for d in world.standin.deliveries
        if d.sender != BOT and d.action and await store.get(d.delivery_id) is None
    ]
    assert len(dropped) >= 4

    installation = int(dropped[0].payload["installation"]["id"])
    async with world.service.github.installation(installation) as session:
        loaded = await ConfigCache().get(session, REPO)
        work = Work(
            session=session,
            repo=REPO,
            loaded=loaded,
            now=world.clock(),
            key=state_key(world.settings),
            bot_login=BOT,
        )
        world.standin.reset_requests()
        for delivery in dropped:
            route = route_for(delivery.event, delivery.action)
            if route is None:
                continue
            event = Event(delivery.event, delivery.action, delivery.payload, delivery.delivery_id)
            assert await route.handler(work, event) is None, said(delivery)
        assert world.standin.requests == []


def every_payload(world: Stage) -> list[tuple[str, bytes]]:
    sent = [(d.event, body_of(d)) for d in world.standin.deliveries]
    reference = [
        (path.parent.name, path.read_bytes())
        for path in sorted(REFERENCE.glob("api.github.com/*/*.payload.json"))
        if path.parent.name in {"issues", "issue_comment"}
    ]
    return sent + reference


@pytest.mark.parametrize("config_known", [True, False])
async def test_the_projection_holds_every_field_the_checks_read(
    world: Stage, config_known: bool
) -> None:
    await play_an_incident(world)
    async with world.service.github.installation(
        int(world.standin.deliveries[0].payload["installation"]["id"])
    ) as session:
        loaded = await ConfigCache().get(session, REPO)
    known = Known(config=loaded.config if config_known else None, key=state_key(world.settings))
    checked = 0
    for event_name, body in every_payload(world):
        whole: dict[str, Any] = json.loads(body)
        action = whole.get("action")
        route = route_for(event_name, action)
        if route is None:
            continue
        full = Event(event_name, action, whole)
        projected = Event(event_name, action, glance(body))
        assert route.matters(projected, known) == route.matters(full, known), (event_name, action)
        checked += 1
    assert checked >= 20


def test_baton_s_own_deliveries_and_unhandled_events_are_not_stored() -> None:
    triage = Triage(state_key=b"k" * 32, known_bot_login=lambda: BOT)
    comment = {
        "action": "created",
        "issue": {"number": 3, "body": ""},
        "comment": {"id": 9, "body": "/ack"},
        "repository": {"full_name": REPO},
        "installation": {"id": 1},
    }

    def verdict(event: str, payload: dict[str, Any]) -> bool:
        return triage(event, json.dumps(payload).encode()).store

    assert verdict("issue_comment", {**comment, "sender": {"login": "alice"}})
    assert not verdict("issue_comment", {**comment, "sender": {"login": BOT}})
    assert not verdict("issue_comment", {**comment, "sender": {"login": "alice"}, "action": "x"})
    assert not verdict("baton.sweep", {**comment, "action": "due", "sender": {"login": "a"}})
    assert not verdict("issue_comment", {"action": "created", "sender": {"login": "alice"}})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"action": "created", "x": "\xff"}', "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_with_words(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        glance(body)


def test_a_payload_of_an_odd_shape_is_read_whole() -> None:
    odd = {"action": "created", "issue": "not an object", "comment": {"body": "/ack"}}
    assert glance(json.dumps(odd).encode()) == odd
