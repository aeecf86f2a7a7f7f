"""`python -m bench.replicas`: webhook ingest on PostgreSQL (one `baton serve`, and two behind a
round-robin of connections) beside the same on SQLite, measured as `python -m bench` measures
ingest; prints the rows and writes bench/results-replicas.json.

The PostgreSQL server is `BATON_BENCH_DATABASE_URL` (by default the test server,
postgresql://postgres@127.0.0.1:5432/test); each run gets a schema of its own, dropped after.
Every acknowledgement is durable: SQLite with `synchronous=FULL`, PostgreSQL with the server's
`synchronous_commit` (on by default; the figures say which), both grouping commits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from subprocess import Popen
from typing import Any

import psycopg
from psycopg import sql

from bench.__main__ import QUICK, Bench, Sizes, drain, ingest_runs, prepare_and_time_commands
from bench.processes import free_port, machine

SERVER = os.environ.get("BATON_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
Start = Callable[[int], AbstractContextManager[Popen[bytes]]]


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A database URL whose tables go in a new schema, dropped afterwards."""
    name = f"baton_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, autocommit=True) as db:
        db.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    separator = "&" if "?" in SERVER else "?"
    try:
        yield f"{SERVER}{separator}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(SERVER, autocommit=True) as db:
            db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def durability() -> dict[str, str]:
    with psycopg.connect(SERVER) as db:
        return {
            name: str(db.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "synchronous_commit", "fsync", "wal_sync_method")
        }


def run(sizes: Sizes) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        bench = Bench(sizes, Path(tmp))
        api_port = free_port()
        results: dict[str, Any] = {"machine": machine(), "postgresql": durability()}
        with bench.standin(api_port):
            quick_mix = Sizes(**{**sizes.__dict__, "commands": 1, "command_spacing": 0.0})
            bench.sizes = quick_mix
            _, files, _ = prepare_and_time_commands(bench, api_port)
            bench.sizes = sizes

            def on_sqlite(port: int) -> AbstractContextManager[Popen[bytes]]:
                return bench.baton(port, api_port)

            def on_postgres(url: str) -> Start:
                return lambda port: bench.baton(port, api_port, database_url=url)

            ingest = {"baton-sqlite": ingest_runs("baton", on_sqlite, files, sizes, settle=drain)}
            for replicas in (1, 2):
                with fresh_schema() as url:
                    ingest[f"baton-postgresql-{replicas}"] = ingest_runs(
                        f"pg{replicas}",
                        on_postgres(url),
                        files,
                        sizes,
                        settle=drain,
                        replicas=replicas,
                    )
        results["ingest"] = ingest
    return results


def rows(results: dict[str, Any]) -> str:
    lines = [
        "| Server | Throughput (deliveries/s) | p50 paced (ms) | p99 paced (ms) | CPU µs/delivery |"
    ]
    lines.append("| --- | --- | --- | --- | --- |")
    for name, measured in results["ingest"].items():
        lines.append(
            f"| {name} | {measured['throughput']} | {measured['paced_p50_ms']}"
            f" | {measured['paced_p99_ms']} | {measured['cpu_us_per_delivery']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny numbers: a smoke test")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("results-replicas.json")
    )
    args = parser.parse_args(argv)
    results = run(QUICK if args.quick else Sizes())
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["postgresql"]))
    print(rows(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
