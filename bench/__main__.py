"""`python -m bench`: run every measurement, print the table, write bench/results.json.

Servers run in their own processes on loopback ports: `baton serve` (a fresh SQLite file per
run), the GitHub stand-in it talks to, a bare Starlette endpoint, and Probot when npm can
install it. The load generator is another process (wrk for saturation when installed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.demo.harness import APP_ID, app_key_pem
from bench import report
from bench.costs import measure_costs
from bench.deliveries import mix_summary, signed_mix, write_files
from bench.processes import cpu_seconds, free_port, machine, peak_rss_mib, running

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = REPO_ROOT / ".venv" / "bin"
PROBOT_MAJOR = "13"
E2E_INCIDENTS = 3


@dataclass(frozen=True)
class Sizes:
    runs: int = 3
    seconds: float = 4.0  # per saturation run and per paced run
    connections: int = 32
    paced_rate: float = 200.0
    # Baton at a fixed rate while its queue is watched (does processing keep up?): the peer's
    # saturation rate, measured first; this one when the peer does not run.
    sustained_rate: float = 4000.0
    sustained_seconds: float = 10.0
    commands: int = 4  # end-to-end commands per run
    # Seconds between commands: long enough for Baton's write pacing (a burst of 5 writes, then
    # 1 a second) to refill, so the time measured is Baton's own, not the pacing's.
    command_spacing: float = 6.0
    quiet_incidents: int = 1000


QUICK = Sizes(
    runs=1,
    seconds=0.5,
    sustained_rate=200.0,
    sustained_seconds=1.0,
    connections=4,
    paced_rate=50.0,
    commands=1,
    command_spacing=0.0,
    quiet_incidents=100,
)


@dataclass
class Bench:
    sizes: Sizes
    folder: Path
    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    private_key: Path = field(init=False)
    public_key: Path = field(init=False)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        private_pem, public_pem = app_key_pem()
        self.private_key = self.folder / "app.pem"
        self.private_key.write_text(private_pem)
        self.public_key = self.folder / "app.pub.pem"
        self.public_key.write_bytes(public_pem)

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    # -- the servers --------------------------------------------------------------------
    def standin(self, port: int) -> AbstractContextManager[subprocess.Popen[bytes]]:
        env = {
            "BENCH_WEBHOOK_SECRET": self.secret,
            "BENCH_APP_PUBLIC_KEY_FILE": str(self.public_key),
        }
        command = [str(VENV_BIN / "python"), "-m", "bench.standin_server", "--port", str(port)]
        return running(command, port=port, env=env, cwd=REPO_ROOT, log=self.log("standin"))

    def database(self, port: int) -> Path:
        return self.folder / f"baton-{port}.db"

    def baton(
        self,
        port: int,
        api_port: int,
        *,
        without: tuple[str, ...] = (),
        database_url: str | None = None,
    ) -> AbstractContextManager[subprocess.Popen[bytes]]:
        """`baton serve`; `without` names parts switched off (`bench/ablated.py`); by default
        on a SQLite file of its own."""
        env = {
            "GITHUB_APP_ID": str(APP_ID),
            "GITHUB_APP_PRIVATE_KEY_PATH": str(self.private_key),
            "GITHUB_WEBHOOK_SECRET": self.secret,
            "GITHUB_API_URL": f"http://127.0.0.1:{api_port}",
            "BATON_DATABASE_URL": database_url or f"sqlite:///{self.database(port)}",
        }
        command = [str(VENV_BIN / "baton"), "serve", "--port", str(port)]
        if without:
            parts = [argument for part in without for argument in ("--without", part)]
            command = [str(VENV_BIN / "python"), "-m", "bench.ablated", *parts, *command[1:]]
            env["PYTHONPATH"] = str(REPO_ROOT)
        # cwd: a folder without a .env file, so only these settings apply
        return running(command, port=port, env=env, cwd=self.folder, log=self.log("baton"))

    def bare(
        self, port: int, *, pure: bool = False
    ) -> AbstractContextManager[subprocess.Popen[bytes]]:
        command = [str(VENV_BIN / "python"), "-m", "bench.bare_server", "--port", str(port)]
        env = {"GITHUB_WEBHOOK_SECRET": self.secret}
        name = "bare-pure" if pure else "bare"
        return running(
            [*command, *(["--pure"] if pure else [])],
            port=port,
            env=env,
            cwd=REPO_ROOT,
            log=self.log(name),
        )

    def probot(self, port: int, home: Path) -> AbstractContextManager[subprocess.Popen[bytes]]:
        env = {
            "APP_ID": str(APP_ID),
            "PRIVATE_KEY": self.private_key.read_text(),
            "WEBHOOK_SECRET": self.secret,
            "LOG_LEVEL": "warn",
            "NODE_ENV": "production",
        }
        command = ["node", str(home / "probot_app.js"), str(port)]
        return running(command, port=port, env=env, cwd=home, log=self.log("probot"))


def install_probot(folder: Path) -> tuple[Path | None, str]:
    """Probot from npm into a throwaway folder; (None, why) when that is not possible."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        return None, "node/npm not found"
    home = folder / "probot"
    home.mkdir()
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", f"probot@{PROBOT_MAJOR}"],
            cwd=home,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"npm install probot@{PROBOT_MAJOR} took more than 240 s"
    if done.returncode != 0:
        return None, f"npm install probot@{PROBOT_MAJOR} failed: {done.stderr.strip()[-300:]}"
    shutil.copy(Path(__file__).with_name("probot_app.js"), home / "probot_app.js")
    version = json.loads((home / "node_modules/probot/package.json").read_text())["version"]
    return home, f"probot {version}"


# -- load ---------------------------------------------------------------------------------
def load(mode: str, url: str, files: tuple[Path, Path], label: str, sizes: Sizes) -> dict[str, Any]:
    """`url`: one server's, or several separated by spaces (a round-robin of connections)."""
    jsonl, tsv = files
    seconds = str(sizes.seconds)
    urls = url.split()
    if mode == "saturate" and shutil.which("wrk") and len(urls) == 1:
        command = [
            "wrk",
            "-t1",
            f"-c{sizes.connections}",
            f"-d{max(1, round(sizes.seconds))}s",
            "--timeout",
            "5s",
            "-s",
            str(Path(__file__).with_name("wrk_deliveries.lua")),
            url,
            "--",
            str(tsv),
            label,
        ]
        out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
        return wrk_summary(json.loads(out.stdout.strip().splitlines()[-1]))
    command = [
        str(VENV_BIN / "python"),
        "-m",
        "bench.loadgen",
        mode,
        *(argument for one in urls for argument in ("--url", one)),
        "--deliveries",
        str(jsonl),
        "--label",
        label,
        "--seconds",
        seconds,
        "--connections",
        str(sizes.connections),
        "--rate",
        str(sizes.paced_rate),
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=True, cwd=REPO_ROOT
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def wrk_summary(raw: dict[str, Any]) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    failed = raw["non_2xx"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    accepted = raw["requests"] - raw["non_2xx"]
    return {
        "sent": raw["requests"],
        "accepted": accepted,
        "failed": failed,
        "seconds": round(seconds, 3),
        "rate": round(accepted / seconds, 1),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "generator": "wrk",
    }


Extra = Callable[[int, str, tuple[Path, Path], str], dict[str, Any]]


def ingest_runs(
    name: str,
    start: Callable[[int], AbstractContextManager[subprocess.Popen[bytes]]],
    files: tuple[Path, Path],
    sizes: Sizes,
    extra: Extra | None = None,
    settle: Callable[[int], object] | None = None,
    replicas: int = 1,
) -> dict[str, Any]:
    """Fresh server per run: warm-up, paced latency at a fixed rate, then saturation (and what
    `extra` measures on the same server). With `replicas`, that many servers, the load's
    connections spread over them in turn (a round-robin balancer); their CPU times add up.

    The server's CPU time per delivery is counted from the start of saturation until `settle`
    returns: for Baton, until the work the saturation left in its queue is done, so the
    deliveries it processes afterwards are counted too."""
    runs = []
    for run in range(sizes.runs):
        ports = [free_port() for _ in range(replicas)]
        url = " ".join(f"http://127.0.0.1:{port}/webhooks" for port in ports)
        with contextlib.ExitStack() as stack:
            pids = [stack.enter_context(start(port)).pid for port in ports]
            warm = Sizes(**{**sizes.__dict__, "seconds": min(1.0, sizes.seconds)})
            warmed = load("paced", url, files, f"{name}-warm-{run}", warm)
            paced = load("paced", url, files, f"{name}-paced-{run}", sizes)
            cpu_before = sum(cpu_seconds(pid) for pid in pids)
            saturated = load("saturate", url, files, f"{name}-sat-{run}", sizes)
            if settle is not None:
                settle(ports[0])
            cpu = sum(cpu_seconds(pid) for pid in pids) - cpu_before
            more = extra(ports[0], url, files, f"{name}-{run}") if extra else {}
            runs.append(
                {
                    "warm": warmed,
                    "paced": paced,
                    "saturated": saturated,
                    "cpu_us_per_delivery": round(cpu / max(1, saturated["accepted"]) * 1e6, 1),
                    "peak_rss_mib": max(peak_rss_mib(pid) for pid in pids),
                    **more,
                }
            )
    return {"runs": runs, **medians(runs)}


DRAIN_LIMIT = 60.0  # seconds


def backlog(client: httpx.Client, port: int) -> int:
    """Baton's queue: pending and running deliveries, from its /healthz."""
    counts = client.get(f"http://127.0.0.1:{port}/healthz").json()
    return int(counts["pending"]) + int(counts["running"])


def drain(port: int) -> float:
    """Wait until Baton's queue is empty (at most DRAIN_LIMIT); the seconds it took."""
    began = time.monotonic()
    with httpx.Client(timeout=10) as client:
        while backlog(client, port) and time.monotonic() - began < DRAIN_LIMIT:
            time.sleep(0.05)
    return time.monotonic() - began


def sustained(bench: Bench, sizes: Sizes, rate: float) -> Extra:
    """After the saturation run, whose queue `ingest_runs` has let drain (`settle=drain`):
    Baton at a fixed `rate` for longer, its queue (pending + running deliveries, from /healthz)
    read every half second; then how long the queue takes to drain, and what share of all
    deliveries sent was stored."""

    def measure(port: int, url: str, files: tuple[Path, Path], label: str) -> dict[str, Any]:
        longer = Sizes(
            **{
                **sizes.__dict__,
                "seconds": sizes.sustained_seconds,
                "paced_rate": rate,
                "connections": max(sizes.connections, 64),
            }
        )
        queue: list[int] = []
        with ThreadPoolExecutor(1) as pool, httpx.Client(timeout=10) as client:
            running_load = pool.submit(load, "paced", url, files, f"{label}-sustained", longer)
            while not running_load.done():
                queue.append(backlog(client, port))
                time.sleep(0.5)
            result = running_load.result()
            drained = drain(port)
        return {
            "sustained": {
                **result,
                "queue": queue,
                "queue_max": max(queue, default=0),
                "queue_at_end": queue[-1] if queue else 0,
                "drain_seconds": round(drained, 2),
            },
            "stored": stored_rows(bench.database(port)),
        }

    return measure


def stored_rows(database: Path) -> int:
    with contextlib.closing(sqlite3.connect(database)) as db:
        (count,) = db.execute("SELECT count(*) FROM deliveries").fetchone()
    return int(count)


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    def median(pick: Callable[[dict[str, Any]], float]) -> float:
        return round(statistics.median(pick(r) for r in runs), 2)

    return {
        "throughput": median(lambda r: r["saturated"]["rate"]),
        "saturated_p99_ms": median(lambda r: r["saturated"]["p99_ms"]),
        "paced_p50_ms": median(lambda r: r["paced"]["p50_ms"]),
        "paced_p99_ms": median(lambda r: r["paced"]["p99_ms"]),
        "peak_rss_mib": median(lambda r: r["peak_rss_mib"]),
        "cpu_us_per_delivery": median(lambda r: r["cpu_us_per_delivery"]),
        **(
            {
                "sustained": median(lambda r: r["sustained"]["rate"]),
                "sustained_p99_ms": median(lambda r: r["sustained"]["p99_ms"]),
                "sustained_queue_max": median(lambda r: r["sustained"]["queue_max"]),
                "sustained_queue_at_end": median(lambda r: r["sustained"]["queue_at_end"]),
                "sustained_drain_seconds": median(lambda r: r["sustained"]["drain_seconds"]),
                "stored_share": median(lambda r: r["stored"] / sent_to(r)),
            }
            if all("sustained" in r for r in runs)
            else {}
        ),
    }


def sent_to(run: dict[str, Any]) -> int:
    """Deliveries acknowledged by one server over its whole run."""
    return sum(run[phase]["accepted"] for phase in ("warm", "paced", "saturated", "sustained"))


# -- Baton with the stand-in: capture the mix, time commands end to end -------------------
def prepare_and_time_commands(
    bench: Bench, api_port: int
) -> tuple[list[Any], tuple[Path, Path], dict[str, Any]]:
    """Declare the incidents and capture the mix through a first Baton; then time commands,
    from comment to reply, while the mix goes on at the paced rate in the background."""
    sizes = bench.sizes
    baton_port = free_port()
    control = f"http://127.0.0.1:{api_port}/_bench"
    url = f"http://127.0.0.1:{baton_port}/webhooks"
    with bench.baton(baton_port, api_port), httpx.Client(timeout=60) as client:
        client.post(f"{control}/sink", json={"url": url})
        incidents = [
            client.post(f"{control}/incident", json={"title": f"Bench incident {n}"}).json()[
                "number"
            ]
            for n in range(E2E_INCIDENTS)
        ]
        captured = client.post(f"{control}/capture", json={"incidents": incidents}).json()
        signed = signed_mix(captured, bench.secret)
        files = write_files(signed, bench.folder)
        time.sleep(sizes.command_spacing)  # the declarations' writes drained the pacing burst
        timing = sizes.runs * sizes.commands * sizes.command_spacing
        background = Sizes(**{**sizes.__dict__, "seconds": max(sizes.seconds, timing)})
        with ThreadPoolExecutor(1) as pool:
            loaded = pool.submit(load, "paced", url, files, "e2e-background", background)
            runs = [
                time_commands(client, control, incidents, sizes, run) for run in range(sizes.runs)
            ]
            load_result = loaded.result()
        client.post(f"{control}/sink", json={"url": ""})
    e2e = {
        "runs": runs,
        "background_rate": load_result["rate"],
        "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 1),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 1),
    }
    return signed, files, e2e


def time_commands(
    client: httpx.Client, control: str, incidents: list[int], sizes: Sizes, run: int
) -> dict[str, Any]:
    seconds = []
    for n in range(sizes.commands):
        began = time.monotonic()
        body = {
            "number": incidents[n % len(incidents)],
            "body": f"/note run {run} step {n}",
            "author": "bob",
        }
        seconds.append(client.post(f"{control}/command", json=body).json()["seconds"])
        time.sleep(max(0.0, sizes.command_spacing - (time.monotonic() - began)))
    ordered = sorted(seconds)
    return {
        "samples_ms": [round(s * 1000, 1) for s in seconds],
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000, 1),
    }


def run(sizes: Sizes, *, with_peer: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        bench = Bench(sizes, Path(tmp))
        api_port = free_port()
        results: dict[str, Any] = {"machine": machine(), "sizes": sizes.__dict__}
        home, peer = install_probot(bench.folder) if with_peer else (None, "skipped (--no-peer)")
        results["peer"] = peer
        with bench.standin(api_port):
            signed, files, results["end_to_end"] = prepare_and_time_commands(bench, api_port)
            results["mix"] = mix_summary(signed)
            # The peer first: Baton's sustained run goes at the peer's saturation rate.
            probot = None
            if home is not None:
                try:
                    probot = ingest_runs("probot", lambda p: bench.probot(p, home), files, sizes)
                except (RuntimeError, TimeoutError) as error:  # the peer is optional
                    results["peer"] = f"{peer} did not run: {error}"
            rate = probot["throughput"] if probot is not None else sizes.sustained_rate
            results["sustained_rate"] = rate
            ingest = {
                "baton": ingest_runs(
                    "baton",
                    lambda p: bench.baton(p, api_port),
                    files,
                    sizes,
                    extra=sustained(bench, sizes, rate),
                    settle=drain,
                ),
                "bare": ingest_runs("bare", bench.bare, files, sizes),
                "bare-pure": ingest_runs(
                    "bare-pure", lambda p: bench.bare(p, pure=True), files, sizes
                ),
                **({"probot": probot} if probot is not None else {}),
            }
        results["ingest"] = ingest
        results["costs"] = asyncio.run(measure_costs(sizes.quiet_incidents))
        results["generator"] = (
            "wrk (saturation), bench.loadgen (paced)" if shutil.which("wrk") else "bench.loadgen"
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny numbers: a smoke test")
    parser.add_argument("--no-peer", action="store_true", help="do not install or run Probot")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args(argv)
    results = run(QUICK if args.quick else Sizes(), with_peer=not args.no_peer)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(report.table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
