"""Each repository's configuration, read from GitHub and kept for a short while.

A push of `.github/baton.yml` drops what is kept at once (`forget`, see
`app/handlers/pushes.py`); the time limit bounds how stale it can be where no push arrives: an
installation that does not get `push` deliveries, another `baton serve` process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.config import ORG_CONFIG_REPO, Config, LoadResult, load_config
from app.github.client import GitHubSession
from app.github.issues import fetch_file, split_repo

CONFIG_TTL_SECONDS = 60.0  # a change not announced by a push takes effect within a minute


@dataclass
class ConfigCache:
    ttl: float = CONFIG_TTL_SECONDS
    _entries: dict[str, tuple[LoadResult, float]] = field(default_factory=dict)
    _forgotten: int = 0  # how many times something was forgotten: a read begun before is stale

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

        forgotten = self._forgotten
        result = await load_config(fetch, owner, name)
        if forgotten == self._forgotten:  # else a push came while reading: read again next time
            self._entries[repo.lower()] = (result, time.monotonic())
        return result

    def forget(self, repo: str) -> None:
        """`repo`'s configuration file changed: read it again next time; for an owner's
        `.github` repository, that of every repository of the owner."""
        owner, name = split_repo(repo.lower())
        if name == ORG_CONFIG_REPO:
            for kept in [kept for kept in self._entries if kept.startswith(f"{owner}/")]:
                del self._entries[kept]
        else:
            self._entries.pop(repo.lower(), None)
        self._forgotten += 1

    def _fresh(self, repo: str) -> LoadResult | None:
        cached = self._entries.get(repo.lower())
        if cached and time.monotonic() - cached[1] < self.ttl:
            return cached[0]
        return None
