"""Each repository's configuration, read from GitHub and kept for a short while."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.config import LoadResult, load_config
from app.github.client import GitHubSession
from app.github.issues import fetch_file, split_repo

CONFIG_TTL_SECONDS = 60.0  # a pushed change takes effect within a minute


@dataclass
class ConfigCache:
    ttl: float = CONFIG_TTL_SECONDS
    _entries: dict[str, tuple[LoadResult, float]] = field(default_factory=dict)

    async def get(self, session: GitHubSession, repo: str) -> LoadResult:
        cached = self._entries.get(repo)
        if cached and time.monotonic() - cached[1] < self.ttl:
            return cached[0]
        owner, name = split_repo(repo)

        async def fetch(file_owner: str, file_repo: str, path: str) -> str | None:
            return await fetch_file(session, file_owner, file_repo, path)

        result = await load_config(fetch, owner, name)
        self._entries[repo] = (result, time.monotonic())
        return result
