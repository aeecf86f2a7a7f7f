"""What an entry point derives from the settings: how it reaches GitHub (as the App, else with
a token such as a workflow's GITHUB_TOKEN) and the key of the card's MAC."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import httpx

from app.entry.settings import Settings, SettingsError
from app.github.client import GitHubApp, GitHubSession, ResponseObserver, WritePacer, token_session
from app.github.issues import split_repo
from app.incident.state import derive_state_key


def state_key(settings: Settings) -> bytes:
    """The key for the card's MAC: BATON_STATE_KEY, else derived from the webhook secret."""
    return derive_state_key(settings.state_secret())


def github_app(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    observe: ResponseObserver | None = None,
    pacer_factory: Callable[[], WritePacer] = WritePacer,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> GitHubApp:
    """The App described by the environment (App id and private key required)."""
    if not settings.app_id or not settings.private_key:
        raise SettingsError("missing GITHUB_APP_ID or GITHUB_APP_PRIVATE_KEY")
    return GitHubApp(
        app_id=settings.app_id,
        private_key=settings.private_key,
        api_url=settings.api_url,
        timeout=settings.http_timeout,
        transport=transport,
        observe=observe,
        pacer_factory=pacer_factory,
        clock=clock,
    )


def session_with_token(
    settings: Settings, token: str, transport: httpx.AsyncBaseTransport | None
) -> AbstractAsyncContextManager[GitHubSession]:
    return token_session(
        token, settings.api_url, timeout=settings.http_timeout, transport=transport
    )


@asynccontextmanager
async def app_or_token(
    settings: Settings,
    token: str | None,
    transport: httpx.AsyncBaseTransport | None,
    *,
    else_needs: str = "GITHUB_TOKEN",
) -> AsyncIterator[GitHubApp | GitHubSession]:
    """The App when its credentials are set, else a session with `token`; without either, the
    error says to set the App's credentials or `else_needs`."""
    if settings.app_id and settings.private_key:
        async with github_app(settings, transport=transport) as github:
            yield github
        return
    if not token:
        raise SettingsError(f"set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, or {else_needs}")
    async with session_with_token(settings, token, transport) as session:
        yield session


@asynccontextmanager
async def repository_session(
    settings: Settings, repo: str, token: str | None, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[GitHubSession]:
    """A session for one repository: the App's installation on it, else `token`."""
    async with app_or_token(settings, token, transport) as github:
        if isinstance(github, GitHubSession):
            yield github
            return
        installation_id = await _installation_on(github, repo)
        async with github.installation(installation_id) as session:
            yield session


async def _installation_on(github: GitHubApp, repo: str) -> int:
    """The App's installation on `repo` (`GET /repos/{o}/{r}/installation`, with the App's JWT)."""
    owner, name = split_repo(repo)
    async with github.as_app() as app:
        response = await app.read_if_found(
            lambda: app.rest.apps.async_get_repo_installation(owner, name)
        )
    if response is None:
        raise SettingsError(f"the App is not installed on {repo}")
    return response.parsed_data.id
