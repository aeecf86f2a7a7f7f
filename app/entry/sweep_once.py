"""`baton sweep`: one run of the incident clocks inline, with the App or a workflow's token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from app.entry.actions_mode import ActionsRun
from app.entry.credentials import app_or_token, state_key
from app.entry.settings import Settings
from app.github.client import GitHubApp
from app.github.config_source import ConfigCache
from app.jobs.sweep import sweep_installations, sweep_repository
from app.jobs.sweep_report import OperationsBudget, SweepReport


async def sweep_once(
    settings: Settings,
    *,
    token: str | None,
    repo: str | None,
    now: datetime,
    dry_run: bool,
    budget: int,
    transport: httpx.AsyncBaseTransport | None = None,
) -> SweepReport:
    """One run inline: with the App's credentials every installation (or `repo`); with a token
    (Actions mode) the one repository, after deciding the commands that no run applied."""
    options: dict[str, Any] = {
        "configs": ConfigCache(),
        "key": state_key(settings),
        "now": now,
        "dry_run": dry_run,
        "budget": OperationsBudget(budget),
    }
    needs = "GITHUB_TOKEN and --repo (or GITHUB_REPOSITORY)"
    async with app_or_token(
        settings, token if repo else None, transport, else_needs=needs
    ) as github:
        if isinstance(github, GitHubApp):
            return await sweep_installations(github, only_repo=repo, **options)
        assert repo is not None  # a token is used only with a repository
        if not dry_run:  # Actions mode: first the commands of runs GitHub cancelled
            loaded = await options["configs"].get(github, repo)
            run = ActionsRun(github, repo, loaded, settings.state_secret(), lambda: now)
            await run.catch_up(skip=None, run_id=f"sweep-{now:%Y%m%dT%H%M%S}")
        return await sweep_repository(github, repo, **options)
