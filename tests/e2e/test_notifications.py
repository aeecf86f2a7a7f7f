"""Chat notifications end to end (docs/notifications.md): people act on the GitHub stand-in,
Baton tells the Slack stand-in (`app/sandbox/slack.py`, served on a loopback port), once per
moment, whatever is redelivered, restarted or refused by Slack on the way."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from app.demo.harness import REPO, Stage, stage
from app.incident.text import when
from app.sandbox.slack import SlackStandIn
from app.server.databases import database_path
from app.server.store import DeliveryStatus
from tests.e2e.helpers import FakeClock, labels_of, open_incident, say, state_of


@pytest.fixture
async def told(tmp_path: Path, slack: SlackStandIn) -> AsyncIterator[Stage]:
    """A stage whose Baton has BATON_SLACK_WEBHOOK_URL."""
    database = f"sqlite:///{tmp_path / 'baton.db'}"
    async with stage(database_url=database, slack_webhook_url=slack.url) as world:
        yield world


@pytest.fixture
async def timed_told(tmp_path: Path, slack: SlackStandIn, clock: FakeClock) -> AsyncIterator[Stage]:
    """As `told`, with a clock the test moves."""
    database = f"sqlite:///{tmp_path / 'baton.db'}"
    async with stage(database_url=database, clock=clock, slack_webhook_url=slack.url) as world:
        yield world


async def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait for what the worker does on its own schedule (a rescheduled notice)."""
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("it did not happen in time")


def link(world: Stage, number: int, title: str = "Checkout is down") -> str:
    url = world.standin.issue(REPO, number)["html_url"]
    return f"<{url}|#{number} {title}>"


async def test_each_moment_is_told_once_in_the_words_of_the_issue(
    told: Stage, slack: SlackStandIn
) -> None:
    number = await open_incident(told)
    await say(told, number, "/ic me\n/severity sev1", "alice")
    await say(told, number, "/handoff @carol Vendor ticket 42 is open.", "alice")
    await say(told, number, "/accept", "carol")
    await say(told, number, "/update Payments fail for <!channel> & half of users.", "carol")
    await say(told, number, "/mitigated", "carol")
    await say(told, number, "/resolved", "carol")
    await say(told, number, "/close", "carol")

    texts = slack.texts()
    incident = link(told, number)
    assert texts[0] == f"*Incident declared* by @alice: {incident} (*sev3*)"
    assert texts[1] == (f"{incident}: @alice is now the Incident Commander for this incident.")
    assert texts[2] == f"{incident}: severity is now *sev1* (was sev3), set by @alice."
    assert texts[3] == (
        f"{incident}: @carol is now the Incident Commander for this incident, "
        "taking over from @alice."
    )
    assert texts[4] == (
        f"*Status update* on {incident} by @carol:\n"
        "Payments fail for &lt;!channel&gt; &amp; half of users."
    )
    assert texts[5].startswith(f"{incident} is *mitigated* as of ")
    assert texts[6].startswith(f"{incident} is *resolved* as of ")
    assert texts[7].startswith(f"{incident} is *closed* as of ")
    assert len(texts) == 8, texts
    commander = told.standin.comments(REPO, number)
    assert any(
        "@carol is now the Incident Commander for this incident, taking over from @alice."
        in c["body"]
        for c in commander
    ), "the same words as on the issue"
    last = slack.messages[-1]
    assert last["text"] == f"#{number} Checkout is down: closed"
    assert last["blocks"][1] == {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "Severity: *sev1* · Status: *closed* · Incident Commander: @carol",
            }
        ],
    }
    assert slack.attempts == 8


async def test_escalations_are_told(
    timed_told: Stage, slack: SlackStandIn, clock: FakeClock
) -> None:
    told = timed_told
    number = await open_incident(told)
    clock.advance(minutes=16)
    await told.service.sweep.run_once()
    await told.settle()
    clock.advance(minutes=15)
    await told.service.sweep.run_once()
    await told.settle()

    incident = link(told, number)
    assert slack.texts()[1:] == [
        f"*Escalation*: {incident}\nNobody has taken the Incident Commander role since it "
        f"was declared at {when(state_of(told, number).declared_at)}.",
        f"*Escalation*: {incident}\nThis sev3 incident was declared at "
        f"{when(state_of(told, number).declared_at)} and is still not resolved "
        "(status: investigating).",
    ]
    assert (
        slack.messages[1]["text"]
        == f"#{number} Checkout is down: escalation: no Incident Commander yet"
    )


async def test_redelivered_deliveries_tell_nothing_again(told: Stage, slack: SlackStandIn) -> None:
    number = await open_incident(told)
    await say(told, number, "/ic me", "alice")
    hookshot = told.standin.hookshot
    labeled = next(d for d in hookshot.hook_deliveries if d.action == "labeled")
    created = next(d for d in reversed(hookshot.hook_deliveries) if d.action == "created")

    hookshot.redeliver(labeled)  # the same X-GitHub-Delivery guid
    hookshot.redeliver(replace(created, guid="a-second-copy"))  # the same event, another guid
    await told.settle()

    assert told.standin.deliveries[-1].redelivery
    assert len(slack.messages) == 2


async def test_a_plan_resumed_after_a_crash_tells_once(told: Stage, slack: SlackStandIn) -> None:
    slack.fail(500, times=100)  # Slack is down while the command is handled
    number = await open_incident(told)
    answer = await say(told, number, "/severity sev2", "alice")
    assert labels_of(told, number) >= {"sev2"}, "GitHub's writes do not wait for Slack"
    await told.stop()
    # As if the process had died after the plan's last GitHub step, before the delivery was
    # recorded done: the plan is resumed at start, and queues its notices again.
    path = database_path(told.settings.database_url)
    assert path is not None
    with sqlite3.connect(path) as db:
        resumed = db.execute(
            "UPDATE deliveries SET status = 'pending' WHERE event = 'issue_comment'"
            " AND plan IS NOT NULL"
        ).rowcount
        db.execute("UPDATE deliveries SET not_before = NULL WHERE event = 'baton.notice'")
    assert resumed == 1
    slack.recover()
    await told.start()
    await told.settle()
    await until(lambda: len(slack.messages) == 2)

    await asyncio.sleep(0.5)
    assert [t.split(":")[-1].strip() for t in slack.texts()][1:] == [
        "severity is now *sev2* (was sev3), set by @alice."
    ]
    assert len(answer.replies) == 1


async def test_slack_failures_are_retried_without_holding_up_github(
    told: Stage, slack: SlackStandIn
) -> None:
    slack.fail(500)
    slack.fail(429, retry_after=1)
    number = await open_incident(told)

    assert state_of(told, number).status == "investigating", "the card is written at once"
    await say(told, number, "/ic me", "alice")
    assert state_of(told, number).ic == "alice", "a later command does not wait for Slack"

    await until(lambda: len(slack.messages) == 2)
    assert slack.attempts == 4
    assert slack.texts()[0].startswith("*Incident declared*")
    assert "Incident Commander" in slack.texts()[1]
    counts = await told.service.store.counts()
    assert counts[DeliveryStatus.PENDING] == counts[DeliveryStatus.FAILED] == 0


async def test_a_refused_message_is_kept_as_a_failed_delivery(
    told: Stage, slack: SlackStandIn
) -> None:
    slack.fail(404, times=100)  # the webhook was revoked
    await open_incident(told)
    await until(lambda: slack.attempts >= 1)
    await asyncio.sleep(0.2)  # the refusal is recorded

    stored = await told.service.store.list_deliveries(list(DeliveryStatus))
    notices = [d for d in stored if d.event == "baton.notice"]
    assert len(notices) == 1
    error = notices[0].last_error
    assert error is not None
    assert "Slack answered 404 (no_service)" in error
    assert "/services/" not in error, "the webhook's address is a secret"
    assert notices[0].status == DeliveryStatus.PENDING, "tried again later"


async def test_the_configuration_chooses_the_moments(told: Stage, slack: SlackStandIn) -> None:
    told.standin.put_file(REPO, ".github/baton.yml", "notify: {slack: {events: [resolved]}}\n")
    number = await open_incident(told)
    await say(told, number, "/ic me", "alice")
    await say(told, number, "/resolved", "alice")

    assert len(slack.texts()) == 1
    assert "*resolved*" in slack.texts()[0]


async def test_a_broken_events_value_falls_back_to_every_moment(
    told: Stage, slack: SlackStandIn
) -> None:
    told.standin.put_file(REPO, ".github/baton.yml", "notify: {slack: {events: resolved}}\n")
    number = await open_incident(told)

    assert slack.texts()[0].startswith("*Incident declared*")
    said = [c["body"] for c in told.standin.comments(REPO, number)]
    assert any("notify.slack.events" in body for body in said)


async def test_nothing_is_sent_without_the_variable(world: Stage, slack: SlackStandIn) -> None:
    number = await open_incident(world)
    await say(world, number, "/ic me\n/severity sev1", "alice")
    await say(world, number, "/resolved", "alice")

    assert slack.attempts == 0
    stored = await world.service.store.list_deliveries(list(DeliveryStatus))
    assert not [d for d in stored if d.event == "baton.notice"]
