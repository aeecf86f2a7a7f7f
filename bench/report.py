"""The results as Markdown tables (printed by `python -m bench`, pasted into the docs)."""

from __future__ import annotations

from typing import Any

SERVERS = {
    "baton": "Baton (`baton serve`)",
    "bare": "bare Starlette endpoint (httptools, uvloop: Baton's uvicorn settings)",
    "bare-pure": "bare Starlette endpoint (h11, asyncio: uvicorn without extras)",
    "probot": "Probot",
}


def ratio(value: float, other: float) -> str:
    return f"{value / other:.2f}x" if other else "n/a"


def ingest_table(ingest: dict[str, Any]) -> list[str]:
    lines = [
        "| server | deliveries/s at saturation | p99 at saturation (ms) | p50 at fixed rate (ms)"
        " | p99 at fixed rate (ms) | CPU per delivery (µs) | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, found in ingest.items():
        lines.append(
            f"| {SERVERS[name]} | {found['throughput']:.0f} | {found['saturated_p99_ms']:.1f}"
            f" | {found['paced_p50_ms']:.2f} | {found['paced_p99_ms']:.2f}"
            f" | {found['cpu_us_per_delivery']:.0f} | {found['peak_rss_mib']:.0f} |"
        )
    baton = ingest["baton"]
    if "sustained" in baton:
        lines.append("")
        lines.append(
            "Baton sustained at a fixed rate (the peer's saturation rate):"
            f" {baton['sustained']:.0f} deliveries/s, p99 {baton['sustained_p99_ms']:.1f} ms;"
            f" its queue (pending + running) at most {baton['sustained_queue_max']:.0f}, at the end"
            f" {baton['sustained_queue_at_end']:.0f}, drained"
            f" {baton['sustained_drain_seconds']:.2f} s after the load; stored"
            f" {baton['stored_share']:.1%} of the deliveries."
        )
    for name in ("probot", "bare", "bare-pure"):
        if name in ingest:
            peer = ingest[name]
            lines.append("")
            throughput = ratio(baton["throughput"], peer["throughput"])
            p99 = ratio(baton["paced_p99_ms"], peer["paced_p99_ms"])
            cpu = ratio(baton["cpu_us_per_delivery"], peer["cpu_us_per_delivery"])
            lines.append(
                f"Baton / {SERVERS[name]}: throughput {throughput}, p99 at fixed rate {p99},"
                f" CPU per delivery {cpu}."
            )
    return lines


def costs_table(costs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| operation | requests | of which 304 (free) | reads | writes | content-creating"
        " | minimum | over minimum |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {c['operation']} | {c['requests']} | {c['not_modified']} | {c['reads']}"
        f" | {c['writes']} | {c['content_creating']} | {c['minimum']} ({c['visible_effects']})"
        f" | {c['over_minimum']} |"
        for c in costs
    ]
    return lines


def table(results: dict[str, Any]) -> str:
    m, e2e, mix = results["machine"], results["end_to_end"], results["mix"]
    lines = [
        f"Machine: {m['cpus']} CPUs, {m['cpu_model']}, Python {m['python']}, Linux {m['kernel']}",
        f"Peer: {results['peer']}. Load generator: {results['generator']}.",
        f"Mix: {mix['kinds']} (% of deliveries); mean body {mix['mean_body_bytes']} bytes."
        f" Medians of {results['sizes']['runs']} runs.",
        "",
        *ingest_table(results["ingest"]),
        "",
        f"End to end (command comment -> Baton's reply recorded by the stand-in), with the mix"
        f" at {e2e['background_rate']:.0f} deliveries/s in the background:"
        f" p50 {e2e['p50_ms']:.0f} ms, p99 {e2e['p99_ms']:.0f} ms.",
        "",
        *costs_table(results["costs"]),
    ]
    return "\n".join(lines)
