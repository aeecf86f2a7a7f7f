"""End-to-end fixtures: Baton and the GitHub stand-in, wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.demo.harness import MovableClock as FakeClock
from app.demo.harness import Stage, stage


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Stage]:
    """In-process: httpx's ASGI transport both ways, a SQLite file in a temporary folder."""
    async with stage(database_url=f"sqlite:///{tmp_path / 'baton.db'}") as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def timed_world(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Stage]:
    """In-process, with a clock the test moves."""
    async with stage(database_url=f"sqlite:///{tmp_path / 'baton.db'}", clock=clock) as running:
        yield running
