"""Sending a notice to the Slack channel of an incoming webhook, with Slack's own SDK.

The message is laid out in Block Kit from the notice's data (its words come from
`app/templates/chat/`), with the notice's plain text as the fallback Slack shows in
notifications. One request per notice and no retry here: a failure Slack may get over (5xx,
429, no answer) is `ChatBusy`, and the caller sends again later (the worker's schedule, so
that nothing sleeps while it waits); any other refusal is `ChatRefused`.

The webhook's address is a secret (whoever has it can post in the channel): it never appears
in a log line or an error, including the SDK's own debug lines.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.webhook.webhook_response import WebhookResponse

from app.incident.notices import Notice

# The SDK writes the address into its debug lines: its logger only ever says warnings.
_SDK_LOG = logging.getLogger(f"{__name__}.sdk")
_SDK_LOG.setLevel(logging.WARNING)
_LONGEST_REASON = 100  # characters of Slack's answer kept in an error


class ChatBusy(Exception):
    """Slack did not take the message now; `after` is the wait it asked for (429's
    `Retry-After`), if any."""

    def __init__(self, reason: str, after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


class ChatRefused(Exception):
    """Slack refused the message (a revoked webhook, an archived channel, a bad payload)."""


class SlackWebhook:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self._client = AsyncWebhookClient(
            url, timeout=max(int(timeout), 1), retry_handlers=[], logger=_SDK_LOG
        )

    async def send(self, notice: Notice) -> None:
        try:
            response = await self._client.send_dict(message(notice))
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            # The error's own words may hold the address: only its kind is said.
            raise ChatBusy(f"Slack did not answer ({type(error).__name__})") from None
        _check(response)


def message(notice: Notice) -> dict[str, Any]:
    """The message of a notice: its text, then a line of the incident's facts."""
    return {
        "text": notice.fallback,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": notice.text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": notice.context}]},
        ],
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _check(response: WebhookResponse) -> None:
    status = response.status_code
    if status == 200:
        return
    said = (response.body or "").strip()[:_LONGEST_REASON]
    reason = f"Slack answered {status}{f' ({said})' if said else ''}"
    if status == 429:
        raise ChatBusy(reason, _retry_after(response.headers))
    if status >= 500:
        raise ChatBusy(reason)
    raise ChatRefused(reason)


def _retry_after(headers: Any) -> timedelta | None:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return timedelta(seconds=max(float(value), 0.0))
            except ValueError:
                return None
    return None
