"""`baton action`: handle the one event of a GitHub Actions run, for repositories that run
Baton without a server. The same handlers decide as in the server; there is no delivery store,
so a run that fails is simply run again by re-running the workflow."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from app.entry.credentials import session_with_token
from app.entry.settings import Settings, SettingsError
from app.github import issues as gh
from app.github.client import ACTIONS_BOT
from app.github.config_source import ConfigCache
from app.github.executor import execute
from app.handlers.events import Event
from app.handlers.router import route_for
from app.handlers.work import Work
from app.incident.labels import baton_labels
from app.incident.state import derive_state_key


def read_event(settings: Settings) -> Event:
    name, path = settings.event_name, settings.event_path
    if not name or not path:
        raise SettingsError(
            "baton action runs in GitHub Actions: GITHUB_EVENT_NAME and "
            "GITHUB_EVENT_PATH are not set"
        )
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise SettingsError(f"GITHUB_EVENT_PATH: cannot read the event: {error}") from error
    if not isinstance(payload, dict):
        raise SettingsError("GITHUB_EVENT_PATH: the event is not a JSON object")
    return Event(name, payload.get("action"), payload, settings.run_id)


async def run_action(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Handle the run's event; returns one line saying what happened."""
    event = read_event(settings)
    route = route_for(event.name, event.action)
    if route is None or not route.from_github:
        return f"nothing to do for {event.name}.{event.action}"
    if event.sender == ACTIONS_BOT or event.repo is None:
        return "nothing to do: the event was caused by this workflow's own token"
    token, secret = settings.github_token, settings.state_key_secret
    if not token or not secret:
        raise SettingsError("baton action needs GITHUB_TOKEN and BATON_STATE_KEY")
    async with session_with_token(settings, token, transport) as session:
        work = Work(
            session=session,
            repo=event.repo,
            loaded=await ConfigCache().get(session, event.repo),
            now=clock(),
            key=derive_state_key(secret),
            bot_login=ACTIONS_BOT,
        )
        plan = await route.handler(work, event)
        if plan is None:
            return f"nothing to do for {event.name}.{event.action} on {event.repo}"
        await execute(session, plan, render_card=work.render_card, board=work.follow_on_board)
    return f"handled {event.name}.{event.action} on {plan.repo}#{plan.number}"


async def create_labels(
    settings: Settings,
    repo: str | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """`baton labels`: create Baton's labels that the repository (by default the workflow's) lacks,
    before the first incident: GitHub drops an issue form's labels that do not exist. Returns one
    line saying what was created."""
    repo = settings.repository(repo)
    token = settings.github_token
    if not repo or not token:
        raise SettingsError("baton labels needs GITHUB_TOKEN, and GITHUB_REPOSITORY or --repo")
    async with session_with_token(settings, token, transport) as session:
        config = (await ConfigCache().get(session, repo)).config
        created = await gh.ensure_labels(session, repo, baton_labels(config), config)
    if not created:
        return f"every label of Baton's exists in {repo}"
    return f"created {len(created)} labels in {repo}: {', '.join(created)}"
