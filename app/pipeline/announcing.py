"""Telling the chat channel: a plan's notices become deliveries of their own, sent by the
worker like any other (docs/notifications.md).

Once a plan's GitHub writes are done, each of its notices is stored as a `baton.notice`
delivery whose id is the notice's key: storing it again (a resumed plan, a redelivery) adds
nothing, so it is sent once. The notices of an incident queue behind each other, in their own
line beside the incident's webhooks: a Slack outage delays them and nothing else. Slack busy
(5xx, 429, no answer) reschedules the notice, after Slack's `Retry-After` or a growing wait;
the worker gives up after its cap on reschedules, leaving it failed for `baton deliveries retry`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timedelta

from app.chat.slack import ChatBusy, SlackWebhook
from app.incident.notices import Notice
from app.incident.plan import Plan
from app.server.store import Delivery, NewDelivery
from app.server.worker import Reschedule

NOTICE_EVENT = "baton.notice"
NOTICE_ACTION = "slack"
LONGEST_WAIT = timedelta(minutes=5)


def notice_deliveries(plan: Plan, received_at: datetime) -> list[NewDelivery]:
    return [
        NewDelivery(
            delivery_id=f"notice:{notice.key}",
            event=NOTICE_EVENT,
            action=NOTICE_ACTION,
            issue_key=f"chat:{notice.repo}#{notice.number}",
            body=json.dumps(asdict(notice)).encode(),
            received_at=received_at,
        )
        for notice in plan.notices
    ]


async def announce(delivery: Delivery, chat: SlackWebhook | None) -> str:
    """Send the notice a delivery holds; what became of it, in a few words for the log."""
    notice = Notice.from_dict(delivery.payload())
    if chat is None:
        return f"{notice.moment} not told: BATON_SLACK_WEBHOOK_URL is not set"
    try:
        await chat.send(notice)
    except ChatBusy as busy:
        raise Reschedule(busy.after or wait_after(delivery.reschedules), busy.reason) from None
    return f"{notice.moment} told to the chat channel"


def wait_after(reschedules: int) -> timedelta:
    """1 s, 2 s, 4 s … after each time Slack was busy in a row, at most five minutes."""
    return min(timedelta(seconds=2**reschedules), LONGEST_WAIT)
