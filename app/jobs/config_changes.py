"""A push of `.github/baton.yml` reaches every `baton serve` process sharing the store.

The process that receives the push forgets the repository's configuration at once (while the
push is acknowledged, see app/handlers/pushes.py) and announces the change through the store; the
other processes hear it and forget it too. On PostgreSQL the news travels by LISTEN/NOTIFY, in
milliseconds; a process that lost its listening connection forgets every configuration once it
listens again, since it cannot know what it missed. On SQLite there is no other process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.github.config_source import ConfigCache
from app.server.store import DeliveryStore

log = logging.getLogger(__name__)


class ConfigChanges:
    def __init__(self, store: DeliveryStore, configs: ConfigCache) -> None:
        self._store = store
        self._configs = configs
        self._announcing: set[asyncio.Task[None]] = set()
        self._listening: asyncio.Task[None] | None = None

    def pushed(self, repo: str) -> None:
        """A push received here may have changed `repo`'s configuration file."""
        self._configs.forget(repo)
        task = asyncio.create_task(self._announce(repo))
        self._announcing.add(task)
        task.add_done_callback(self._announcing.discard)

    async def _announce(self, repo: str) -> None:
        try:
            await self._store.announce_config_change(repo)
        except Exception as error:  # the others read it again within the cache's time limit
            log.warning("could not tell the other processes that %s changed: %s", repo, error)

    def start(self) -> None:
        self._listening = asyncio.create_task(self._listen(), name="baton-config-changes")

    async def stop(self) -> None:
        if self._listening is not None:
            self._listening.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listening
            self._listening = None
        if self._announcing:
            await asyncio.gather(*self._announcing)

    async def _listen(self) -> None:
        async for repo in self._store.config_changes():
            if repo is None:
                self._configs.forget_all()
            else:
                self._configs.forget(repo)
