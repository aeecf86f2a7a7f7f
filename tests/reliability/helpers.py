"""What the reliability tests share: stages to build, faults to inject, outcomes to count."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.demo.harness import APP_ID, REPO, Stage, stage
from app.sandbox import Fault, FaultPlan, HttpWebhookSink, StandIn
from app.server.store import DeliveryStatus
from tests.e2e.helpers import BOT, REPLY_KEY, FakeClock

FIGURE_PREFIX = "figure: "


def serve_environment(
    *, api_url: str, private_pem: str, webhook_secret: str, database: Path
) -> dict[str, str]:
    """The environment of a `baton serve` process talking to a stand-in at `api_url`."""
    return {
        **os.environ,
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_APP_PRIVATE_KEY": private_pem,
        "GITHUB_WEBHOOK_SECRET": webhook_secret,
        "GITHUB_API_URL": api_url,
        "BATON_DATABASE_URL": f"sqlite:///{database}",
        "BATON_SWEEP_INTERVAL": "0",
    }


def report_figure(name: str, text: str) -> None:
    """Print one figure of the reliability page (`python -m bench.reliability` collects them;
    `-s` shows them)."""
    print(f"\n{FIGURE_PREFIX}{name}: {text}")


ISSUE_KEY = re.compile(r"<!-- baton:issue (\S+) -->")


@asynccontextmanager
async def built_stage(
    tmp_path: Path,
    *,
    over_http: bool = False,
    clock: FakeClock | None = None,
    http_timeout: float | None = None,
    write_interval: float = 0.0,
) -> AsyncIterator[Stage]:
    """A stage on a SQLite file. With `http_timeout`, Baton is restarted with that timeout, and
    in process its requests to the stand-in are held to it as a socket would hold them."""
    async with stage(
        database_url=f"sqlite:///{tmp_path / 'baton.db'}",
        over_http=over_http,
        clock=clock,
        write_interval=write_interval,
    ) as world:
        if http_timeout is not None:
            await world.stop()
            world.settings = world.settings.model_copy(update={"http_timeout": http_timeout})
            inner = world.standin.transport
            world.standin.transport = lambda: TimeoutTransport(inner())  # type: ignore[method-assign]
            await world.start()
        yield world


class TimeoutTransport(httpx.AsyncBaseTransport):
    """Enforces the request's read timeout, which httpx's ASGI transport ignores."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        seconds = request.extensions.get("timeout", {}).get("read")
        try:
            return await asyncio.wait_for(self.inner.handle_async_request(request), seconds)
        except TimeoutError:
            raise httpx.ReadTimeout("no answer within the timeout", request=request) from None

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class RandomFaults(FaultPlan):
    """A seeded schedule: each request fails with probability `rate`, in one of `kinds`.

    Slow faults go to reads only: a write the server applies after a client's timeout and
    after a later write would be a lost update no client can detect (GitHub has no
    conditional PATCH of issues), and is not what this schedule probes. Primary rate limits
    are left to a test of their own: githubkit measures their reset against the real clock,
    which a schedule that moves the fake clock would skew.
    """

    seed: int = 0
    rate: float = 0.2
    slow_delay: float = 1.0
    injected: Counter[str] = field(default_factory=Counter)
    enabled: bool = True

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def take(self, method: str, route: str) -> Fault | None:
        planned = super().take(method, route)
        if planned is not None or not self.enabled or self._random.random() >= self.rate:
            return planned
        fault = self._pick(method)
        self.injected[_fault_name(fault)] += 1
        return fault

    def _pick(self, method: str) -> Fault:
        choices = [
            Fault(status=502),
            Fault(status=500),
            Fault(kind="secondary_rate_limit", retry_after=1),
            Fault(status=429),  # too many requests, without rate-limit headers
            Fault(kind="drop"),
        ]
        if method == "GET":
            choices.append(Fault(kind="slow", delay=self.slow_delay))
        return self._random.choice(choices)


def _fault_name(fault: Fault) -> str:
    return f"{fault.status}" if fault.kind == "status" else fault.kind


def replies(standin: StandIn, number: int) -> list[str]:
    return [c["body"] for c in standin.comments(REPO, number) if c["user"]["login"] == BOT]


def reply_keys(standin: StandIn, number: int) -> Counter[str]:
    """How many times each reply key appears among Baton's comments on the issue."""
    return Counter(key for body in replies(standin, number) for key in REPLY_KEY.findall(body))


async def unfinished(world: Stage) -> int:
    counts = await world.service.store.counts()
    return counts[DeliveryStatus.PENDING] + counts[DeliveryStatus.RUNNING]


async def settle_through_reschedules(world: Stage, clock: FakeClock, rounds: int = 20) -> int:
    """Settle; while deliveries wait for a later time, move the clock on and settle again.
    Returns how many times the clock had to move."""
    for moved in range(rounds):
        await world.settle()
        if await unfinished(world) == 0:
            return moved
        clock.advance(seconds=90)
        world.service.worker.notify()
    stuck = [
        (d.delivery_id, d.event, d.action)
        for d in world.standin.deliveries
        if (found := await world.service.store.get(d.delivery_id)) is not None
        and found.status in (DeliveryStatus.PENDING, DeliveryStatus.RUNNING)
    ]
    details = [
        (d.status, d.attempts, d.reschedules, d.not_before, d.last_error, d.plan_step)
        for guid, *_ in stuck[:3]
        if (d := await world.service.store.get(guid)) is not None
    ]
    raise AssertionError(f"unfinished after {rounds} clock moves: {stuck[:5]} {details}")


async def declare(world: Stage, title: str) -> int:
    """Open an issue as rita and label it `incident` as alice, without settling."""
    issue = await world.standin.open_issue(REPO, title, "Something is broken.\n", "rita")
    await world.standin.add_labels(REPO, issue["number"], ["incident"], "alice")
    return int(issue["number"])


# --- `baton serve` as a real process --------------------------------------------------------------

VENV = Path(__file__).resolve().parents[2] / ".venv" / "bin"
# In CI `baton serve` runs without write pacing (GitHub's "about 1 s between writes" and 80
# comments a minute make 200 commands last 10 minutes); the soak runs the unmodified
# `baton serve`.
SOAK = os.environ.get("BATON_SOAK") == "1"
UNPACED = (
    "import functools, sys, app.entry.service as s, app.github.client as c;"
    "s.build_service.__kwdefaults__['pacer_factory'] = "
    "functools.partial(c.WritePacer, interval=0, content_per_minute=10**6);"
    "from app.cli import main; sys.exit(main())"
)
COMMAND = [str(VENV / "baton")] if SOAK else [str(VENV / "python"), "-c", UNPACED]
DEADLINE = 900.0 if SOAK else 120.0  # seconds to wait for the work to be done


@asynccontextmanager
async def webhooks_to(standin: StandIn, port: int) -> AsyncIterator[None]:
    """The stand-in sends its webhooks over HTTP to `baton serve` on `port` meanwhile."""
    sink = HttpWebhookSink(f"http://127.0.0.1:{port}/webhooks")
    standin.hookshot.sink = sink
    try:
        yield
    finally:
        standin.hookshot.sink = None
        await sink.aclose()  # its connections, left open, would be closed by the garbage collector


@asynccontextmanager
async def baton_process(
    env: dict[str, str],
    port: int,
    logs: Path,
    *,
    started: Callable[[int], Awaitable[bool]] | None = None,
) -> AsyncIterator[int]:
    """Run `baton serve` until it is `started` (by default: /healthz answers ok); yields its
    pid; SIGTERM at the end."""
    with logs.open("ab") as out:
        process = subprocess.Popen(
            [*COMMAND, "serve", "--port", str(port)],
            env=env,
            cwd=logs.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        await eventually(
            lambda: (started or healthy)(port), what="baton serve to start", timeout=30
        )
        yield process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)


async def healthy(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.TransportError:
        return False
    return response.status_code == 200


async def health(port: int) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        data = (await client.get(f"http://127.0.0.1:{port}/healthz", timeout=5)).json()
    return {k: data[k] for k in ("pending", "running", "failed")}


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, what: str, timeout: float = DEADLINE
) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def idle(port: int) -> bool:
    counts = await health(port)
    return counts["pending"] == 0 and counts["running"] == 0


async def all_answered(standin: StandIn, comments: dict[int, list[int]]) -> bool:
    """Whether each command comment, by incident, has a reply."""
    return all(
        all(reply_keys(standin, n)[f"comment:{i}"] >= 1 for i in ids) for n, ids in comments.items()
    )


async def declared_incidents(standin: StandIn, count: int) -> list[int]:
    """`count` issues labelled `incident`, their webhooks sent: their numbers."""
    numbers = []
    for i in range(count):
        issue = await standin.open_issue(REPO, f"Incident {i}", "Down.\n", "rita")
        await standin.add_labels(REPO, issue["number"], ["incident"], "alice")
        numbers.append(int(issue["number"]))
    await standin.settle()
    return numbers
