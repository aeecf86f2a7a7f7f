"""`baton serve` as a real process against a database it cannot use for a while (another
program holds its lock): it says so on /healthz, refuses deliveries instead of acknowledging
work it would not do, and recovers by itself once the lock is gone. A second `baton serve` on
the same database refuses to start."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.demo.harness import APP_ID, REPO, app_key_pem, populate, serving
from app.entry.credentials import state_key
from app.entry.settings import Settings
from app.incident.card import read_card
from app.incident.state import issue_state_key
from app.sandbox import StandIn
from app.server.sqlite_store import SqliteDeliveryStore
from bench.processes import free_port
from tests.e2e.helpers import BOT
from tests.reliability.helpers import (
    COMMAND,
    baton_process,
    eventually,
    healthy,
    idle,
    reply_keys,
    serve_environment,
    webhooks_to,
)
from tests.server.helpers import locked


@dataclass
class Scene:
    standin: StandIn
    env: dict[str, str]
    database: Path
    logs: Path
    secret: str


@asynccontextmanager
async def scene(tmp_path: Path) -> AsyncIterator[Scene]:
    """The GitHub stand-in serving, and the environment of a `baton serve` that uses it."""
    private_pem, public_pem = app_key_pem()
    secret = secrets.token_hex(16)
    standin = StandIn(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=secret)
    populate(standin)
    database = tmp_path / "baton.db"
    async with serving(standin.app, lifespan="off") as api_url:
        env = serve_environment(
            api_url=api_url, private_pem=private_pem, webhook_secret=secret, database=database
        )
        yield Scene(standin, env, database, tmp_path / "baton.log", secret)


async def healthz(port: int) -> httpx.Response | None:
    try:
        async with httpx.AsyncClient() as client:
            return await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.TransportError:
        return None


def unhealthy_because(reason: str) -> Callable[[int], Awaitable[bool]]:
    async def check(port: int) -> bool:
        response = await healthz(port)
        return (
            response is not None
            and response.status_code == 503
            and reason in response.json()["error"]
        )

    return check


def redeliver_refused(standin: StandIn) -> None:
    """Redeliver each delivery that only ever failed, as one does from the App's settings."""
    answered = {d.guid for d in standin.hookshot.hook_deliveries if d.status_code < 300}
    refused = {d.guid: d for d in standin.hookshot.hook_deliveries if d.guid not in answered}
    for delivery in refused.values():
        standin.hookshot.redeliver(delivery)


async def test_a_locked_database_stops_acknowledgement_until_it_is_unlocked(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with scene(tmp_path) as world, webhooks_to(world.standin, port):
        standin = world.standin
        await SqliteDeliveryStore(str(world.database)).close()  # a database from a run before
        with contextlib.ExitStack() as lock:
            lock.enter_context(locked(world.database))
            async with baton_process(
                world.env, port, world.logs, started=unhealthy_because("database is locked")
            ):
                # Locked at start: the worker cannot claim, so deliveries are refused.
                issue = await standin.open_issue(REPO, "Checkout is down", "Down.\n", "rita")
                number = int(issue["number"])
                await standin.add_labels(REPO, number, ["incident"], "alice")
                await standin.settle()
                declared_while_locked = status_codes(standin, "labeled")

                lock.close()
                await eventually(lambda: healthy(port), what="the worker to recover")
                redeliver_refused(standin)
                await standin.settle()
                await eventually(lambda: idle(port), what="the incident to be declared")

                # Locked while idle: the delivery cannot be stored, and is refused.
                with locked(world.database):
                    during = await standin.comment(REPO, number, "/note during the lock", "alice")
                    await standin.settle()
                    noted_while_locked = status_codes(standin, "created")
                    health_while_locked = await healthz(port)

                after = await standin.comment(REPO, number, "/note after the lock", "alice")
                await standin.settle()
                health_after = await healthz(port)
                redeliver_refused(standin)
                await standin.settle()
                await eventually(lambda: idle(port), what="the notes to be applied")

    assert declared_while_locked == [503]
    assert noted_while_locked == [503]
    assert health_while_locked is not None and health_while_locked.status_code == 503
    assert health_while_locked.json()["error"] == (
        "storing deliveries fails: OperationalError: database is locked"
    )
    assert health_after is not None and health_after.status_code == 200
    # Refused, then the note after the lock, then the refused one again; Baton's redelivery,
    # once its job's lease can be taken, may ask for the refused one too (a duplicate).
    assert status_codes(standin, "created") in ([503, 202, 202], [503, 202, 202, 202])
    key = issue_state_key(state_key(Settings(webhook_secret=world.secret)), REPO, number)
    reading = read_card(standin.issue(REPO, number)["body"], key)
    assert reading.state is not None, "the incident was declared once the lock was gone"
    assert {int(during["id"]), int(after["id"])} <= set(reading.state.applied)
    assert max(reply_keys(standin, number).values()) == 1, "a reply was posted twice"


def status_codes(standin: StandIn, action: str) -> list[int | None]:
    return [d.status_code for d in standin.deliveries if d.action == action and d.sender != BOT]


async def test_a_second_baton_serve_on_the_same_database_refuses_to_start(
    tmp_path: Path,
) -> None:
    async with scene(tmp_path) as world:
        port = free_port()
        async with baton_process(world.env, port, world.logs):
            second = await asyncio.to_thread(
                subprocess.run,
                [*COMMAND, "serve", "--port", str(free_port())],
                env=world.env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=30,
            )
            still_serving = await healthy(port)

    assert second.returncode != 0
    assert second.stderr.splitlines() == [
        f"baton: another baton process is using the delivery store {world.database} "
        f"(it holds {world.database}.lock); stop it, or give this one its own "
        "BATON_DATABASE_URL: several processes on one database are not supported yet"
    ]
    assert still_serving
