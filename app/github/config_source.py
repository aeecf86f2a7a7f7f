"""Each repository's configuration, read from GitHub and kept for a short while.

A push of `.github/baton.yml` drops what is kept at once (`forget`, see
`app/handlers/pushes.py`), in the process that received it and, told through the store, in every
other `baton serve` process (app/jobs/config_changes.py); the time limit bounds how stale it can
be where no push arrives (an installation that does not get `push` deliveries) or where the news
was lost.
"""

from __future__ import annotations

from dataclasses import replace

from cachetools import TTLCache
from githubkit.exception import RequestFailed

from app.config import (
    ORG_CONFIG_REPO,
    Config,
    ConfigProblem,
    ConfigSource,
    LoadResult,
    Unreadable,
    load_config,
)
from app.github.client import GitHubSession
from app.github.issues import fetch_file, split_repo

CONFIG_TTL_SECONDS = 60.0  # a change not announced by a push takes effect within a minute
CONFIGS_KEPT = 10_000  # repositories; beyond, the least recently used are forgotten
_NOT_APPLIED = "its settings are not applied"
_UNSEEN = (
    "GitHub answers 404: Baton cannot see this repository (it does not exist, the App is not "
    f"installed on it, or a workflow's token reads only its own repository); {_NOT_APPLIED}"
)


async def read_config(session: GitHubSession, repo: str, *, diagnose: bool = False) -> LoadResult:
    """The repository's configuration as GitHub has it now.

    A file GitHub refuses (403) is a problem. The organisation's file being absent is not, but
    where something else is wrong already (or `diagnose`: `baton check-config`), Baton asks
    whether it can see the organisation's `.github` repository at all, and says so when it
    cannot: GitHub answers 404 alike for a repository that does not exist and one Baton may not
    read, and many owners have none, so this costs requests only when it will be told."""
    owner, name = split_repo(repo)
    absent: set[ConfigSource] = set()

    async def fetch(file_owner: str, file_repo: str, path: str) -> str | None:
        try:
            text = await fetch_file(session, file_owner, file_repo, path)
        except RequestFailed as error:
            if error.response.status_code != 403:
                raise
            raise Unreadable(f"GitHub answers 403 ({_message(error)}); {_NOT_APPLIED}") from error
        if text is None:
            absent.add(ConfigSource(file_owner, file_repo, path))
        return text

    result = await load_config(fetch, owner, name)
    org_file = ConfigSource(owner, ORG_CONFIG_REPO)
    if org_file not in absent or not (diagnose or result.problems):
        return result
    if await _sees_every_repository(session) or await _sees(session, owner, ORG_CONFIG_REPO):
        return result  # the file is absent indeed
    return replace(result, problems=(ConfigProblem(str(org_file), _UNSEEN), *result.problems))


async def _sees_every_repository(session: GitHubSession) -> bool:
    """Whether the token's installation covers all the owner's repositories: a 404 is then an
    absence. (A workflow's token covers its own repository only.)"""
    try:
        response = await session.read(
            lambda: session.rest.apps.async_list_repos_accessible_to_installation(per_page=1)
        )
    except RequestFailed:  # a token that cannot tell: ask about the repository itself
        return False
    return bool(response.parsed_data.repository_selection == "all")


async def _sees(session: GitHubSession, owner: str, repo: str) -> bool:
    try:
        found = await session.read_if_found(lambda: session.rest.repos.async_get(owner, repo))
    except RequestFailed:  # refused: not seen either
        return False
    return found is not None


def _message(error: RequestFailed) -> str:
    try:
        body = error.response.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) and message else error.response.reason_phrase


class ConfigCache:
    """Each repository's configuration for `ttl` seconds, or until a push changes it."""

    def __init__(self, ttl: float = CONFIG_TTL_SECONDS) -> None:
        self._entries: TTLCache[str, LoadResult] = TTLCache(CONFIGS_KEPT, ttl)
        self._forgotten = 0  # how many times something was forgotten: a read begun before is stale

    def peek(self, repo: str) -> Config | None:
        """The repository's configuration if it is cached and fresh; never a request."""
        fresh = self._entries.get(repo.lower())
        return fresh.config if fresh is not None else None

    async def get(self, session: GitHubSession, repo: str) -> LoadResult:
        fresh = self._entries.get(repo.lower())
        if fresh is not None:
            return fresh
        forgotten = self._forgotten
        result = await read_config(session, repo)
        if forgotten == self._forgotten:  # else a push came while reading: read again next time
            self._entries[repo.lower()] = result
        return result

    def forget(self, repo: str) -> None:
        """`repo`'s configuration file changed: read it again next time; for an owner's
        `.github` repository, that of every repository of the owner."""
        owner, name = split_repo(repo.lower())
        if name == ORG_CONFIG_REPO:
            for kept in [kept for kept in self._entries if kept.startswith(f"{owner}/")]:
                self._entries.pop(kept, None)
        else:
            self._entries.pop(repo.lower(), None)
        self._forgotten += 1

    def forget_all(self) -> None:
        """Any configuration may have changed: read each again next time."""
        self._entries.clear()
        self._forgotten += 1
