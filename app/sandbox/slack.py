"""A stand-in for a Slack incoming webhook, for the tests: it records each message posted,
answers as Slack does (`200 ok`, `400 invalid_payload`, `400 no_text`), and fails on demand (a
5xx, a 429 with `Retry-After`, a refusal), one request per fault, in the order they were asked.

Serve `app` on a loopback port (Slack's SDK speaks aiohttp, so it needs a real socket) and give
Baton `url`.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

WEBHOOK_PATH = "/services/T0STANDIN/B0STANDIN/0123456789abcdefABCDEF"


@dataclass(frozen=True)
class SlackFault:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SlackStandIn:
    base_url: str = ""  # where `app` is served, once it is
    messages: list[dict[str, Any]] = field(default_factory=list)  # the messages Slack took
    attempts: int = 0  # every request, taken or not
    _faults: deque[SlackFault] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.app = Starlette(routes=[Route(WEBHOOK_PATH, self._post, methods=["POST"])])

    @property
    def url(self) -> str:
        return f"{self.base_url}{WEBHOOK_PATH}"

    def fail(self, status: int, *, times: int = 1, retry_after: int | None = None) -> None:
        """The next `times` requests get `status` (with `Retry-After` for a 429)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        body = {429: "rate_limited", 404: "no_service"}.get(status, "internal_error")
        self._faults.extend(SlackFault(status, body, headers) for _ in range(times))

    def recover(self) -> None:
        """Forget the faults still waiting: every request is taken from now on."""
        self._faults.clear()

    def texts(self) -> list[str]:
        """The main text (the first section) of each message taken, in order."""
        return [message["blocks"][0]["text"]["text"] for message in self.messages]

    async def _post(self, request: Request) -> PlainTextResponse:
        self.attempts += 1
        if self._faults:
            fault = self._faults.popleft()
            return PlainTextResponse(fault.body, fault.status, headers=fault.headers)
        try:
            message = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("invalid_payload", 400)
        if not isinstance(message, dict):
            return PlainTextResponse("invalid_payload", 400)
        if not message.get("text") and not message.get("blocks"):
            return PlainTextResponse("no_text", 400)
        self.messages.append(message)
        return PlainTextResponse("ok")
