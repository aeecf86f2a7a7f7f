"""`baton check-config --repo OWNER/NAME`: a repository's configuration as Baton reads it from
GitHub, the organisation's `.github` repository included, with every problem listed."""

from __future__ import annotations

import httpx

from app.config import check_loaded
from app.entry.credentials import repository_session
from app.entry.settings import Settings
from app.github.config_source import read_config


async def check_repository_config(
    settings: Settings,
    repo: str,
    *,
    token: str | None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[int, str]:
    """Exit code (0 ok, 1 problems) and the text to print."""
    async with repository_session(settings, repo, token, transport) as session:
        loaded = await read_config(session, repo, diagnose=True)
    return check_loaded(repo, loaded)
