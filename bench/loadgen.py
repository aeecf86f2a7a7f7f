"""The load generator, run as its own process: `python -m bench.loadgen MODE ...`.

Plain asyncio streams speaking HTTP/1.1 with keep-alive (a generic client would cost more CPU
than some of the servers it measures). Every loop is bounded in requests and in seconds.

- `saturate`: a fixed number of connections, each sending its next delivery as soon as the
  previous one was answered.
- `paced`: an open loop at a fixed rate; latency counts from the scheduled send time, so a slow
  server cannot hide its queueing (no coordinated omission).

Prints one JSON object: requests answered, their rate, statuses and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Prepared:
    event: str
    signature: str
    body: bytes


@dataclass
class Tally:
    answered: list[float] = field(default_factory=list)  # seconds, for answered requests
    statuses: Counter[int] = field(default_factory=Counter)  # 0: no answer

    def record(self, status: int, seconds: float) -> None:
        self.statuses[status] += 1
        if status:
            self.answered.append(seconds)


def read_deliveries(path: Path) -> list[Prepared]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    return [Prepared(r["event"], r["signature"], r["body"].encode()) for r in rows]


class Connection:
    """One keep-alive HTTP/1.1 connection to the webhook endpoint."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.host, self.port, self.path = host, port, path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, delivery: Prepared, delivery_id: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\nUser-Agent: GitHub-Hookshot/bench\r\n"
            f"X-GitHub-Event: {delivery.event}\r\nX-GitHub-Delivery: {delivery_id}\r\n"
            f"X-Hub-Signature-256: {delivery.signature}\r\n"
            f"Content-Length: {len(delivery.body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + delivery.body)
        return await read_response(self.reader)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def read_response(reader: asyncio.StreamReader) -> int:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while size := int((await reader.readline()).strip().split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status


class Load:
    """Deliveries sent to one server, or to several as a round-robin balancer would: each
    connection to the next URL in turn."""

    def __init__(self, urls: list[str], deliveries: list[Prepared], label: str) -> None:
        self.targets = [_target(url) for url in urls]
        self.opened = 0
        self.deliveries = deliveries
        self.label = label
        self.sent = 0
        self.tally = Tally()

    def next_delivery(self) -> tuple[Prepared, str]:
        index = self.sent
        self.sent += 1
        return self.deliveries[index % len(self.deliveries)], f"{self.label}-{index}"

    def connection(self) -> Connection:
        host, port, path = self.targets[self.opened % len(self.targets)]
        self.opened += 1
        return Connection(host, port, path)

    async def send(self, connection: Connection, scheduled: float) -> None:
        delivery, delivery_id = self.next_delivery()
        try:
            status = await connection.post(delivery, delivery_id)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            connection.close()
            status = 0
        self.tally.record(status, time.perf_counter() - scheduled)

    async def saturate(self, connections: int, most: int, seconds: float) -> float:
        deadline = time.perf_counter() + seconds

        async def one_connection() -> None:
            connection = self.connection()
            while self.sent < most and time.perf_counter() < deadline:
                await self.send(connection, time.perf_counter())
            connection.close()

        started = time.perf_counter()
        await asyncio.gather(*(one_connection() for _ in range(connections)))
        return time.perf_counter() - started

    async def paced(self, rate: float, seconds: float, connections: int) -> float:
        idle = [self.connection() for _ in range(connections)]
        running: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        total = int(rate * seconds)

        async def on(connection: Connection, scheduled: float) -> None:
            await self.send(connection, scheduled)
            idle.append(connection)

        for index in range(total):
            scheduled = started + index / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            if not idle:  # every connection busy: the server is behind; count it, don't wait
                self.next_delivery()
                self.tally.record(0, 0.0)
                continue
            task = asyncio.create_task(on(idle.pop(), scheduled))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            await asyncio.wait(running, timeout=10.0)
        elapsed = time.perf_counter() - started
        for connection in idle:
            connection.close()
        return elapsed


def _target(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(load: Load, elapsed: float) -> dict[str, object]:
    answered = load.tally.answered
    accepted = sum(n for status, n in load.tally.statuses.items() if 200 <= status < 300)
    return {
        "sent": load.sent,
        "accepted": accepted,
        "seconds": round(elapsed, 3),
        "rate": round(accepted / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(answered, 0.50) * 1000, 2),
        "p99_ms": round(percentile(answered, 0.99) * 1000, 2),
        "statuses": {str(k): v for k, v in sorted(load.tally.statuses.items())},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["saturate", "paced"])
    parser.add_argument("--url", required=True, action="append", help="again for a round-robin")
    parser.add_argument("--deliveries", type=Path, required=True, help="JSON lines, signed")
    parser.add_argument("--label", default="bench", help="prefix of the delivery ids")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--most", type=int, default=100_000, help="saturate: requests at most")
    parser.add_argument("--rate", type=float, default=200.0, help="paced: requests per second")
    args = parser.parse_args(argv)
    load = Load(args.url, read_deliveries(args.deliveries), args.label)
    if args.mode == "saturate":
        run = load.saturate(args.connections, args.most, args.seconds)
    else:
        run = load.paced(args.rate, args.seconds, args.connections)
    elapsed = asyncio.run(run)
    json.dump(summary(load, elapsed), sys.stdout)


if __name__ == "__main__":
    main()
