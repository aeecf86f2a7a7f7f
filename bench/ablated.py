"""`baton serve` with parts switched off, for `python -m bench.ablation` only.

`python -m bench.ablated [--without processing] [--without storing] serve --port P`

- processing: the worker never starts; stored deliveries stay pending.
- storing: the store answers every insert as if it had written it, and writes nothing.

Not a way to run Baton: without either, deliveries are acknowledged and never acted on.
"""

from __future__ import annotations

import argparse
import sys

from app.cli import main as baton_main
from app.server.sqlite_store import SqliteDeliveryStore
from app.server.store import NewDelivery
from app.server.worker import Worker

PARTS = ("processing", "storing")


def _without_processing() -> None:
    def start(self: Worker) -> None:
        """Never claims anything."""

    Worker.start = start  # type: ignore[method-assign]


def _without_storing() -> None:
    async def add(self: SqliteDeliveryStore, delivery: NewDelivery) -> bool:
        return True

    SqliteDeliveryStore.add = add  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--without", action="append", choices=PARTS, default=[])
    args, baton_args = parser.parse_known_args()
    if "processing" in args.without:
        _without_processing()
    if "storing" in args.without:
        _without_storing()
    return baton_main(baton_args)


if __name__ == "__main__":
    sys.exit(main())
