"""End-to-end fixtures: Baton and the GitHub stand-in, wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.demo.harness import REPO, Stage, stage
from app.incident.state import issue_state_key


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[Stage]:
    """In-process: httpx's ASGI transport both ways, a SQLite file in a temporary folder."""
    async with stage(database_url=f"sqlite:///{tmp_path / 'baton.db'}") as running:
        yield running


class FakeClock:
    """Baton's and the stand-in's "now", moved by the test. It starts at the current minute so
    githubkit's token cache, which follows the real clock, stays coherent."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(second=0, microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def timed_world(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Stage]:
    """In-process, with a clock the test moves."""
    async with stage(database_url=f"sqlite:///{tmp_path / 'baton.db'}", clock=clock) as running:
        yield running


def card_key(world: Stage, number: int) -> bytes:
    """The MAC key of one incident's card on the stage's repository."""
    return issue_state_key(world.settings.state_key(), REPO, number)
