"""The Slack adapter against the incoming-webhook stand-in, over a loopback socket."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

import pytest

from app.chat.slack import ChatBusy, ChatRefused, SlackWebhook
from app.incident.notices import Notice
from app.sandbox.slack import WEBHOOK_PATH, SlackStandIn

NOTICE = Notice(
    key="acme/shop#42@3:resolved:0a1b2c3d",
    moment="resolved",
    repo="acme/shop",
    number=42,
    text="<https://github.com/acme/shop/issues/42|#42 Checkout> is *resolved*.",
    context="Severity: *sev2* · Status: *resolved* · Incident Commander: @alice",
    fallback="#42 Checkout: resolved",
)


async def test_a_notice_is_one_block_kit_message_with_a_plain_fallback(
    slack: SlackStandIn,
) -> None:
    await SlackWebhook(slack.url).send(NOTICE)

    assert slack.messages == [
        {
            "text": "#42 Checkout: resolved",
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": NOTICE.text}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": NOTICE.context}]},
            ],
            "unfurl_links": False,
            "unfurl_media": False,
        }
    ]


async def test_a_rate_limit_says_how_long_to_wait(slack: SlackStandIn) -> None:
    slack.fail(429, retry_after=7)
    with pytest.raises(ChatBusy) as busy:
        await SlackWebhook(slack.url).send(NOTICE)
    assert busy.value.after == timedelta(seconds=7)
    assert (slack.attempts, slack.messages) == (1, []), "no retry inside the send"


async def test_a_server_error_is_busy_and_a_refusal_is_not(slack: SlackStandIn) -> None:
    slack.fail(503)
    slack.fail(404)
    webhook = SlackWebhook(slack.url)
    with pytest.raises(ChatBusy) as busy:
        await webhook.send(NOTICE)
    assert busy.value.after is None
    with pytest.raises(ChatRefused, match=r"^Slack answered 404 \(no_service\)$"):
        await webhook.send(NOTICE)


async def test_the_address_is_never_said(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ChatBusy) as busy:
        await SlackWebhook(url, timeout=2).send(NOTICE)

    assert str(busy.value) == "Slack did not answer (ClientConnectorError)"
    assert busy.value.__suppress_context__
    assert WEBHOOK_PATH not in caplog.text
