"""The GitHub stand-in served by uvicorn in its own process, with a few `/_bench/` controls.

`python -m bench.standin_server --port P` with `BENCH_WEBHOOK_SECRET` and
`BENCH_APP_PUBLIC_KEY_FILE` set. The controls let the bench declare incidents through Baton,
capture deliveries without sending them (to replay them as load), and time a command from its
comment to Baton's reply as recorded in the stand-in's request log.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from app.demo.harness import APP_ID, REPO, populate
from app.sandbox import HttpWebhookSink, StandIn

REPLY_ROUTE = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
WAIT_SECONDS = 15.0
POLL_SECONDS = 0.002


class Controls:
    def __init__(self, standin: StandIn) -> None:
        self.standin = standin

    async def sink(self, request: Request) -> JSONResponse:
        url = (await request.json())["url"]
        if isinstance(self.standin.hookshot.sink, HttpWebhookSink):
            await self.standin.hookshot.sink.aclose()
        self.standin.hookshot.sink = HttpWebhookSink(url) if url else None
        return JSONResponse({"ok": True})

    async def incident(self, request: Request) -> JSONResponse:
        """Open an issue and label it `incident`; answer once Baton posted its first response."""
        title = (await request.json())["title"]
        issue = await self.standin.open_issue(REPO, title, "Checkout fails.\n", "rita")
        number = int(issue["number"])
        await self.standin.add_labels(REPO, number, ["incident"], "alice")
        await self.standin.settle()
        await self._until(lambda: len(self.standin.comments(REPO, number)) >= 1)
        return JSONResponse({"number": number})

    async def capture(self, request: Request) -> JSONResponse:
        """Make deliveries without sending them; answer their payloads by kind."""
        numbers = (await request.json())["incidents"]
        sink, self.standin.hookshot.sink = self.standin.hookshot.sink, None
        try:
            await self._make_capturable_changes(numbers)
        finally:
            await self.standin.settle()
            self.standin.hookshot.sink = sink
        captured: dict[str, list[dict[str, Any]]] = {}
        for sent in self.standin.deliveries:
            if sent.status_code is None:
                captured.setdefault(_kind(sent.event, sent.payload), []).append(sent.payload)
        return JSONResponse(captured)

    async def _make_capturable_changes(self, numbers: list[int]) -> None:
        plain = await self.standin.open_issue(REPO, "Typo in the footer", "It says 2019.", "dave")
        number = int(plain["number"])
        await self.standin.comment(REPO, number, "Seeing this too, on mobile.", "carol")
        await self.standin.add_labels(REPO, number, ["documentation"], "alice")
        await self.standin.assign(REPO, number, ["alice"], "baton[bot]")
        for index, incident in enumerate(numbers):
            await self.standin.comment(REPO, incident, f"/note Bench note {index}.", "bob")

    async def command(self, request: Request) -> JSONResponse:
        """Post a command comment; answer the seconds until Baton's reply comment was recorded."""
        asked = await request.json()
        number = int(asked["number"])
        already = len(self.standin.requests)
        started = time.time()
        await self.standin.comment(REPO, number, asked["body"], asked["author"])
        path = f"/repos/{REPO}/issues/{number}/comments"

        def replied() -> float | None:
            for recorded in self.standin.requests[already:]:
                if recorded.method == "POST" and recorded.path == path:
                    return recorded.at.timestamp()
            return None

        await self._until(lambda: replied() is not None)
        answered = replied()
        assert answered is not None
        return JSONResponse({"seconds": answered - started})

    async def _until(self, done: Any) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError("Baton did not answer in time")
            await asyncio.sleep(POLL_SECONDS)


def _kind(event: str, payload: dict[str, Any]) -> str:
    body = str(payload.get("comment", {}).get("body", ""))
    if event == "issue_comment":
        return "command" if body.startswith("/") else "comment"
    return f"{event}.{payload.get('action')}"


def build_app() -> tuple[Starlette, StandIn]:
    standin = StandIn(
        app_id=APP_ID,
        app_public_key_pem=Path(os.environ["BENCH_APP_PUBLIC_KEY_FILE"]).read_bytes(),
        webhook_secret=os.environ["BENCH_WEBHOOK_SECRET"],
        # The load replays thousands of commands, each with a read: the bench measures Baton,
        # not an installation running out of its hourly requests.
        core_rate_limit=10_000_000,
    )
    populate(standin)
    controls = Controls(standin)
    app = Starlette(
        routes=[
            Route("/_bench/sink", controls.sink, methods=["POST"]),
            Route("/_bench/incident", controls.incident, methods=["POST"]),
            Route("/_bench/capture", controls.capture, methods=["POST"]),
            Route("/_bench/command", controls.command, methods=["POST"]),
            Mount("/", app=standin.app),
        ]
    )
    return app, standin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app, _ = build_app()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
