"""What each part of `baton serve` costs at saturation: `python -m bench.ablation [--rounds N]`.

Baton at saturation on the bench's mix (wrk when installed, as in `python -m bench`), as it is
and with parts switched off (`bench/ablated.py`): without processing, and without processing
or storing. The variants alternate, a fresh server each time; the table shows each one's runs.
About a minute per round.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.__main__ import Bench, Sizes, load, prepare_and_time_commands
from bench.processes import free_port

ABLATION_SIZES = Sizes(runs=1, seconds=5.0, commands=1, command_spacing=0.0)
VARIANTS: dict[str, tuple[str, ...]] = {
    "as it is": (),
    "without processing": ("processing",),
    "without processing or storing": ("processing", "storing"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sizes = ABLATION_SIZES
    warm = Sizes(**{**sizes.__dict__, "seconds": 1.0})
    measured: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="baton-ablation-") as tmp:
        bench = Bench(sizes, Path(tmp))
        api_port = free_port()
        with bench.standin(api_port):
            _, files, _ = prepare_and_time_commands(bench, api_port)
            for round_ in range(args.rounds):
                for name, without in VARIANTS.items():
                    port = free_port()
                    url = f"http://127.0.0.1:{port}/webhooks"
                    with bench.baton(port, api_port, without=without):
                        load("paced", url, files, f"ablation-warm-{round_}", warm)
                        result = load("saturate", url, files, f"ablation-{round_}", sizes)
                    measured[name].append((result["rate"], result["p99_ms"]))
    print("| baton serve | deliveries/s at saturation | p99 (ms) |")
    print("|---|---:|---:|")
    for name, runs in measured.items():
        rates = ", ".join(f"{rate:.0f}" for rate, _ in runs)
        p99 = statistics.median(p99 for _, p99 in runs)
        print(f"| {name} | {rates} | {p99:.1f} |")


if __name__ == "__main__":
    main()
