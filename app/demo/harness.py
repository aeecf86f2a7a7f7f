"""A stage for Baton: the GitHub stand-in and a Baton service wired together.

Used by `baton demo` and by the end-to-end tests. In-process by default (httpx's ASGI transport
both ways); `over_http=True` runs both on real loopback sockets, as GitHub and a deployment would.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.entry.service import Service, build_service
from app.entry.settings import Settings
from app.github.client import WritePacer
from app.sandbox import AsgiWebhookSink, HttpWebhookSink, StandIn
from app.sandbox.editions import GITHUB_COM, Edition

APP_ID = 1001
ORG = "acme"
REPO = "acme/web"
SERVER_START_DEADLINE = 30  # seconds: a loopback server starts in well under one, even loaded
# People of the demo organisation and their repository roles (None: no role at all).
PEOPLE: dict[str, str | None] = {
    "alice": "write",
    "bob": "triage",
    "carol": "maintain",
    "dave": "read",
    "rita": None,  # a user who reports an incident
    "mallory": None,
}


class MovableClock:
    """A "now" that a story or a test moves. It starts at the current minute, so githubkit's
    token cache, which follows the real clock, stays coherent with it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(second=0, microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@cache
def app_key_pem() -> tuple[str, bytes]:
    """A throwaway RSA key for the App (private PEM text, public PEM bytes)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@dataclass
class Stage:
    """The stand-in and a Baton service; the service can be stopped and started again on the
    same database, as a deployment restarts."""

    standin: StandIn
    settings: Settings
    clock: Callable[[], datetime]
    over_http: bool = False
    write_interval: float = 0.0
    # GitHub's allowance of content-creating requests (80 a minute): a test of hundreds of
    # replies that is not about pacing raises it rather than waiting minutes.
    content_per_minute: int = 80
    baton_url: str = ""  # where the stand-in sends deliveries (set while running)
    _service: Service | None = None
    _running: contextlib.AsyncExitStack | None = None

    @property
    def service(self) -> Service:
        if self._service is None:
            raise RuntimeError("Baton is not running")
        return self._service

    async def start(self) -> None:
        stack = contextlib.AsyncExitStack()
        service = build_service(
            self.settings,
            transport=None if self.over_http else self.standin.transport(),
            clock=self.clock,
            pacer_factory=lambda: WritePacer(
                interval=self.write_interval, content_per_minute=self.content_per_minute
            ),
        )
        if self.over_http:
            self.baton_url = await stack.enter_async_context(serving(service.web, lifespan="on"))
            sink = HttpWebhookSink(f"{self.baton_url}/webhooks")
            stack.push_async_callback(sink.aclose)
            self.standin.hookshot.sink = sink
        else:
            self.baton_url = "http://baton.test"
            await stack.enter_async_context(service.web.router.lifespan_context(service.web))
            self.standin.hookshot.sink = AsgiWebhookSink(service.web)
        self._service, self._running = service, stack

    async def stop(self) -> None:
        """Stop Baton; GitHub's deliveries fail until it starts again, as they would."""
        self.standin.hookshot.sink = None
        if self._running is not None:
            await self._running.aclose()
        self._service = self._running = None

    async def settle(self) -> None:
        """Wait until every webhook has been delivered and every delivery processed: Baton's own
        writes make GitHub send more deliveries, so repeat until a round sends nothing new."""
        for _ in range(50):
            sent = len(self.standin.deliveries)
            await self.standin.settle()
            await self.service.worker.idle()
            if len(self.standin.deliveries) == sent:
                return
        raise TimeoutError("the stage did not settle")


def populate(standin: StandIn) -> int:
    """The demo organisation: one repository, its people, the App installed. Returns the
    installation id."""
    standin.add_org(ORG)
    standin.add_repo(REPO)
    for login, role in PEOPLE.items():
        if role is None:
            standin.add_user(login)
        else:
            standin.set_role(REPO, login, role)
    standin.add_team(ORG, "sre", ["carol", "dave"])
    return standin.install(ORG)


@contextlib.asynccontextmanager
async def stage(
    *,
    database_url: str = "sqlite:///:memory:",
    over_http: bool = False,
    clock: Callable[[], datetime] | None = None,
    write_interval: float = 0.0,
    content_per_minute: int = 80,
    edition: Edition = GITHUB_COM,
    slack_webhook_url: str | None = None,
) -> AsyncIterator[Stage]:
    """`edition`: GitHub.com, or the Enterprise Server the stand-in plays; `slack_webhook_url`:
    where Baton tells the chat channel (the Slack stand-in of `app/sandbox/slack.py`)."""
    private_pem, public_pem = app_key_pem()
    secret = secrets.token_hex(16)
    now = clock or (lambda: datetime.now(UTC))
    standin = StandIn(
        app_id=APP_ID,
        app_public_key_pem=public_pem,
        webhook_secret=secret,
        clock=now,
        edition=edition,
    )
    populate(standin)
    async with contextlib.AsyncExitStack() as stack:
        api_url = standin.base_url
        if over_http:
            served = await stack.enter_async_context(serving(standin.app, lifespan="off"))
            api_url = served + httpx.URL(standin.base_url).path.rstrip("/")
        settings = Settings(
            app_id=APP_ID,
            private_key=private_pem,
            webhook_secret=secret,
            api_url=api_url,
            database_url=database_url,
            slack_webhook_url=slack_webhook_url,
        )
        running = Stage(
            standin=standin,
            settings=settings,
            clock=now,
            over_http=over_http,
            write_interval=write_interval,
            content_per_minute=content_per_minute,
        )
        await running.start()
        try:
            yield running
        finally:
            await running.stop()


@contextlib.asynccontextmanager
async def serving(asgi_app: Any, *, lifespan: Literal["on", "off"]) -> AsyncIterator[str]:
    """Serve an ASGI app on a free loopback port in this event loop; yields its base URL."""
    config = uvicorn.Config(
        asgi_app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        async with asyncio.timeout(SERVER_START_DEADLINE):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise TimeoutError(
            f"uvicorn did not start serving within {SERVER_START_DEADLINE} s"
        ) from None
    host, port = server.servers[0].sockets[0].getsockname()[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
