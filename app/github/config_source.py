"""Each repository's configuration, read from GitHub and kept for a short while."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.config import Config, LoadResult, load_config
from app.github.client import GitHubSession
from app.github.issues import fetch_file, split_repo

CONFIG_TTL_SECONDS = 60.0  # a pushed change takes effect within a minute


@dataclass
class ConfigCache:
    ttl: float = CONFIG_TTL_SECONDS
    _entries: dict[str, tuple[LoadResult, float]] = field(default_factory=dict)

    def peek(self, repo: str) -> Config | None:
        """The repository's configuration if it is cached and fresh; never a request."""
        fresh = self._fresh(repo)
        return fresh.config if fresh is not None else None

    async def get(self, session: GitHubSession, repo: str) -> LoadResult:
        fresh = self._fresh(repo)
        if fresh is not None:
            return fresh
        owner, name = split_repo(repo)

        async def fetch(file_owner: str, file_repo: str, path: str) -> str | None:
            return await fetch_file(session, file_owner, file_repo, path)

        result = await load_config(fetch, owner, name)
        self._entries[repo] = (result, time.monotonic())
        return result

    def _fresh(self, repo: str) -> LoadResult | None:
        cached = self._entries.get(repo)
        if cached and time.monotonic() - cached[1] < self.ttl:
            return cached[0]
        return None
