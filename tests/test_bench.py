"""The benchmark still runs: `python -m bench --quick` end to end, with tiny numbers."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from githubkit.webhooks import sign

from bench import report
from bench.__main__ import QUICK, Bench
from bench.deliveries import MIX, signed_mix
from bench.loadgen import percentile
from bench.processes import cpu_seconds, free_port

REPO = Path(__file__).resolve().parents[1]


def test_the_quick_bench_measures_every_server_and_operation(tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is needed for the peer")
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-peer", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(out.read_text())
    for server in ("baton", "bare", "bare-pure"):
        assert results["ingest"][server]["throughput"] > 0
        assert results["ingest"][server]["peak_rss_mib"] > 0
        assert results["ingest"][server]["cpu_us_per_delivery"] > 0
    baton = results["ingest"]["baton"]
    assert baton["sustained"] > 0 and 0 < baton["stored_share"] < 0.5
    sweeps = [c for c in results["costs"] if "sweep" in c["operation"]]
    assert [c["not_modified"] for c in sweeps][1] == sweeps[1]["requests"]
    assert results["end_to_end"]["p50_ms"] > 0
    assert results["end_to_end"]["background_rate"] > 0
    declare = results["costs"][0]
    assert declare["writes"] >= declare["minimum"] == 2
    over = {c["operation"]: c["over_minimum"] for c in results["costs"]}
    assert all(0 <= extra <= 1 for extra in over.values()), over
    assert "| Baton (`baton serve`) |" in done.stdout
    assert report.table(results) == done.stdout.rstrip("\n")


def test_the_mix_keeps_its_proportions_and_signs_every_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATON_GITHUB_REFERENCE", str(tmp_path))  # no reference payloads
    captured = {
        "issues.assigned": [{"action": "assigned", "n": 1}],
        "comment": [{"action": "created", "n": 2}],
        "issues.labeled": [{"action": "labeled", "n": 3}],
        "command": [{"action": "created", "n": 4}, {"action": "created", "n": 5}],
    }
    signed = signed_mix(captured, "s3cret")
    assert len(signed) == 100
    for kind, (event, share) in MIX.items():
        assert sum(1 for s in signed if s.kind == kind and s.event == event) == share
    assert all(s.signature == sign("s3cret", s.body) for s in signed)


BURN = """
import sys, time
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
print("burnt", flush=True)
sys.stdin.read()
"""


def test_cpu_time_is_read_for_a_process_whose_name_has_spaces_and_brackets(
    tmp_path: Path,
) -> None:
    odd = tmp_path / "py (a) b"  # the name /proc/PID/stat shows in brackets
    odd.symlink_to(sys.executable)
    with subprocess.Popen(
        [str(odd), "-c", BURN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as busy:  # closes its pipes and waits for it at the end
        try:
            assert busy.stdout is not None and busy.stdout.readline() == "burnt\n"
            assert 0.25 <= cpu_seconds(busy.pid) < 2.0
        finally:
            busy.kill()


def test_percentiles_pick_from_the_ordered_samples() -> None:
    samples = [float(n) for n in range(100, 0, -1)]
    assert percentile(samples, 0.5) == 51.0
    assert percentile(samples, 0.99) == 100.0


@pytest.mark.parametrize(
    ("without", "stored"),
    [(("processing",), ["pending"]), (("processing", "storing"), [])],
)
def test_the_ablated_server_leaves_out_what_it_is_told(
    tmp_path: Path, without: tuple[str, ...], stored: list[str]
) -> None:
    bench = Bench(QUICK, tmp_path)
    body = json.dumps(
        {
            "action": "created",
            "issue": {"number": 1, "body": "Down.", "labels": [{"name": "incident"}]},
            "comment": {"id": 7, "body": "/ack"},
            "repository": {"full_name": "acme/web"},
            "installation": {"id": 1},
            "sender": {"login": "bob", "type": "User"},
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": "ablation-1",
        "X-Hub-Signature-256": sign(bench.secret, body),
    }
    api_port, port = free_port(), free_port()
    with bench.standin(api_port), bench.baton(port, api_port, without=without):
        answer = httpx.post(f"http://127.0.0.1:{port}/webhooks", content=body, headers=headers)
        time.sleep(0.5)  # the worker, were it running, would have claimed the delivery by now
    assert answer.status_code == 202
    with sqlite3.connect(bench.database(port)) as db:
        assert [row[0] for row in db.execute("SELECT status FROM deliveries")] == stored
