"""Two `baton serve` processes on one PostgreSQL database behind a round-robin of webhook
deliveries; one is killed with SIGKILL while commands arrive on several incidents. The other takes
over its claims once their leases end and resumes their journaled plans: every command is applied
once, with one reply, and each incident's commands take effect in the order they were written."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path

import psycopg

from app.demo.harness import APP_ID, REPO, app_key_pem, populate, serving
from app.entry.credentials import state_key
from app.entry.settings import Settings
from app.incident.card import read_card
from app.incident.state import IncidentState, issue_state_key
from app.sandbox import HttpWebhookSink, StandIn
from app.server.worker import LEASE
from bench.processes import free_port
from tests.postgres import Schemas
from tests.reliability.helpers import (
    all_answered,
    baton_process,
    declared_incidents,
    eventually,
    health,
    reply_keys,
    report_figure,
    serve_environment,
)

INCIDENTS = 4
COMMANDS = 80
KILL_AFTER = 40  # command deliveries sent before the kill
SEVERITIES = ("sev2", "sev4")  # each differs from the one before, and from the default
AT_WORK = 0.03  # seconds from a delivery's acceptance to the kill
DEADLINE = 90.0  # seconds for the work to be done once the commands are sent


class RoundRobin:
    """A load balancer in front of the processes: each delivery goes to the next one; one that
    refuses the connection (it is dead) is skipped, as a balancer's health check would."""

    def __init__(self, urls: list[str]) -> None:
        self.sinks = [HttpWebhookSink(url) for url in urls]
        self._next = 0
        self._doomed: tuple[int, int] | None = None  # (which sink, its process)
        self.killed_at: float | None = None

    def kill_after_next_acceptance(self, index: int, pid: int) -> None:
        """SIGKILL the process behind sink `index` right after it accepts a delivery: it has
        stored it, claimed it, and is at work on it."""
        self._doomed = (index, pid)

    async def send(self, headers: dict[str, str], body: bytes) -> int:
        status = 0
        for _ in self.sinks:
            index = self._next % len(self.sinks)
            self._next += 1
            status = await self.sinks[index].send(headers, body)
            if self._doomed is not None and self._doomed[0] == index and status == 202:
                asyncio.get_running_loop().call_later(AT_WORK, self._kill, self._doomed[1])
                self._doomed = None
            if status != 0:
                return status
        return status

    def _kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self.killed_at = time.perf_counter()

    async def aclose(self) -> None:
        for sink in self.sinks:
            await sink.aclose()


async def test_a_replica_killed_mid_burst_leaves_every_command_applied_once_in_order(
    tmp_path: Path, postgres: Schemas
) -> None:
    private_pem, public_pem = app_key_pem()
    secret = secrets.token_hex(16)
    standin = StandIn(app_id=APP_ID, app_public_key_pem=public_pem, webhook_secret=secret)
    populate(standin)
    database = postgres.new_url()
    ports = [free_port(), free_port()]
    key = state_key(Settings(webhook_secret=secret))
    balancer = RoundRobin([f"http://127.0.0.1:{port}/webhooks" for port in ports])
    async with AsyncExitStack() as stack:
        api_url = await stack.enter_async_context(serving(standin.app, lifespan="off"))
        env = {
            **serve_environment(
                api_url=api_url, private_pem=private_pem, webhook_secret=secret, database=tmp_path
            ),
            "BATON_DATABASE_URL": database,
        }
        pids = [
            await stack.enter_async_context(baton_process(env, port, tmp_path / f"baton-{n}.log"))
            for n, port in enumerate(ports)
        ]
        standin.hookshot.sink = balancer
        stack.push_async_callback(balancer.aclose)
        numbers = await declare_incidents(standin, ports)

        started = time.perf_counter()
        written: dict[int, list[tuple[int, str]]] = {n: [] for n in numbers}
        for i in range(COMMANDS):
            number, turn = numbers[i % INCIDENTS], i // INCIDENTS
            text = f"/severity {SEVERITIES[turn // 2 % 2]}" if turn % 2 else f"/note entry {i}"
            comment = await standin.comment(REPO, number, text, "alice")
            written[number].append((int(comment["id"]), text))
            if i + 1 == KILL_AFTER:
                balancer.kill_after_next_acceptance(0, pids[0])
        comments = {n: [i for i, _ in commands] for n, commands in written.items()}
        await eventually(
            lambda: all_answered(standin, comments), what="every reply", timeout=DEADLINE
        )
        answered = time.perf_counter()
        assert balancer.killed_at is not None, "the process was not killed"
        killed_at = balancer.killed_at
        # Its claims were taken over when their leases ended, not before (renewed meanwhile).
        assert answered - killed_at >= LEASE.total_seconds() * 2 / 3, "no claim was taken over"
        await standin.settle()
        await eventually(lambda: drained(ports[1]), what="the store to drain", timeout=DEADLINE)
        counts = await health(ports[1])

    for number, commands in written.items():
        keys = reply_keys(standin, number)
        assert all(keys[f"comment:{i}"] == 1 for i, _ in commands), f"#{number}: {keys}"
        state = card_state(standin, key, number)
        assert sorted(state.applied[-len(commands) :]) == [i for i, _ in commands]
        last_severity = [text for _, text in commands if text.startswith("/severity")][-1]
        assert state.severity == last_severity.split()[1]
    assert counts == {"pending": 0, "running": 0, "failed": 0}
    assert stored_statuses(database) == {"done"}
    report_figure(
        "two replicas, one killed",
        f"{COMMANDS} commands on {INCIDENTS} incidents, one of two processes killed after"
        f" {KILL_AFTER}; every reply {answered - killed_at:.1f} s after the kill"
        f" (lease {LEASE.total_seconds():.0f} s), {answered - started:.1f} s in all",
    )


async def declare_incidents(standin: StandIn, ports: list[int]) -> list[int]:
    numbers = await declared_incidents(standin, INCIDENTS)
    for port in ports:
        await eventually(partial(drained, port), what="the incidents to be declared")
    return numbers


async def drained(port: int) -> bool:
    counts = await health(port)
    return counts["pending"] == 0 and counts["running"] == 0


def card_state(standin: StandIn, key: bytes, number: int) -> IncidentState:
    reading = read_card(standin.issue(REPO, number)["body"], issue_state_key(key, REPO, number))
    assert reading.state is not None and not reading.tampered
    return reading.state


def stored_statuses(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        return {status for (status,) in db.execute("SELECT DISTINCT status FROM deliveries")}
