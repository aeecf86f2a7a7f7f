"""What the reliability tests share: stages to build, faults to inject, outcomes to count."""

from __future__ import annotations

import asyncio
import os
import random
import re
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.demo.harness import APP_ID, REPO, Stage, stage
from app.incident.card import read_card
from app.incident.state import IncidentState
from app.sandbox import Fault, FaultPlan
from app.server.store import DeliveryStatus
from tests.e2e.conftest import FakeClock, card_key

BOT = "baton[bot]"
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


REPLY_KEY = re.compile(r"<!-- baton:reply (\S+) -->")
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


def replies(world: Stage, number: int) -> list[str]:
    return [c["body"] for c in world.standin.comments(REPO, number) if c["user"]["login"] == BOT]


def reply_keys(world: Stage, number: int) -> Counter[str]:
    """How many times each reply key appears among Baton's comments on the issue."""
    return Counter(key for body in replies(world, number) for key in REPLY_KEY.findall(body))


def state_of(world: Stage, number: int) -> IncidentState:
    reading = read_card(world.standin.issue(REPO, number)["body"], card_key(world, number))
    assert reading.state is not None and not reading.tampered, reading
    return reading.state


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
