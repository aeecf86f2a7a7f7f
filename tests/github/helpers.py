"""What the tests of the GitHub client share."""

from __future__ import annotations

import asyncio


class PacerClock:
    """A fake `time.monotonic` that moves only when the write pacer sleeps on it: give a
    `WritePacer` both, `clock=it, sleep=it.sleep`."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 1e-6)  # a real sleep always lets some time pass
        await asyncio.sleep(0)  # and lets other tasks run
