"""Profile `baton serve` at saturation with py-spy: `python -m bench.profile [--py-spy PATH]`.

Prints the functions with the largest share of samples (inclusive, across all threads) and
keeps the collapsed stacks in bench/profile.txt. py-spy is not a project dependency: install it
anywhere (`pip install py-spy`) and pass its path, or have it on PATH.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from bench.__main__ import Bench, Sizes, load, prepare_and_time_commands
from bench.processes import free_port

PROFILE_SIZES = Sizes(runs=1, seconds=8.0, commands=1, command_spacing=0.0)


def shares(collapsed: Path, top: int) -> list[tuple[float, str]]:
    """Inclusive share of samples per function (a function counted once per stack)."""
    total = 0
    per_function: Counter[str] = Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for frame in {
            frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0] + ")"
            for frame in stack.split(";")
        }:
            per_function[frame] += int(count)
    return [(n / total, name) for name, n in per_function.most_common(top)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--gil", action="store_true", help="only samples of the thread holding the GIL"
    )
    args = parser.parse_args()
    out = Path(__file__).with_name("profile.txt")
    with tempfile.TemporaryDirectory(prefix="baton-profile-") as tmp:
        bench = Bench(PROFILE_SIZES, Path(tmp))
        api_port = free_port()
        with bench.standin(api_port):
            _, files, _ = prepare_and_time_commands(bench, api_port)
            port = free_port()
            with bench.baton(port, api_port) as process:
                url = f"http://127.0.0.1:{port}/webhooks"
                spy = subprocess.Popen(
                    [
                        args.py_spy,
                        "record",
                        "--pid",
                        str(process.pid),
                        "--format",
                        "raw",
                        "--duration",
                        str(int(PROFILE_SIZES.seconds)),
                        "--rate",
                        "250",
                        "--output",
                        str(out),
                        "--nonblocking",
                        *(["--gil"] if args.gil else []),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                result = load("saturate", url, files, "profile", PROFILE_SIZES)
                spy.wait(timeout=60)
    print(f"saturation while profiled: {result['rate']} deliveries/s")
    for share, name in shares(out, args.top):
        print(f"{share:6.1%}  {name}")


if __name__ == "__main__":
    main()
