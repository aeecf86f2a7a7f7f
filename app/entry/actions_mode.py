"""`baton action`: handle the one event of a GitHub Actions run, for repositories that run
Baton without a server. The same handlers decide as in the server, in the order commands were
written: a run decides first the command comments written before its own that no run applied
(their runs cancelled by GitHub's concurrency, or failed). There is no delivery store, so a run
that fails is simply run again by re-running the workflow."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx

from app.config import LoadResult
from app.entry.credentials import session_with_token
from app.entry.settings import Settings, SettingsError
from app.github import issues as gh
from app.github.client import ACTIONS_BOT, GitHubSession
from app.github.config_source import ConfigCache
from app.github.executor import execute
from app.github.listing import incident_issues
from app.handlers.commands import missed_on
from app.handlers.events import Event
from app.handlers.in_order import decide_in_order
from app.handlers.router import route_for
from app.handlers.work import Work
from app.incident.labels import baton_labels
from app.incident.plan import Plan, merge_plans
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
        run = ActionsRun(
            session, event.repo, await ConfigCache().get(session, event.repo), secret, clock
        )
        carried_out = await run.carry_out(lambda work: _as_given([event]))
        await run.catch_up(skip=event.issue_number, run_id=event.delivery_id)
    if not carried_out:
        return f"nothing to do for {event.name}.{event.action} on {event.repo}"
    plan = carried_out[-1]
    return f"handled {event.name}.{event.action} on {plan.repo}#{plan.number}"


@dataclass
class ActionsRun:
    """One workflow run's work on one repository, with the workflow's token."""

    session: GitHubSession
    repo: str
    loaded: LoadResult
    secret: str
    clock: Callable[[], datetime]

    def work(self) -> Work:
        return Work(
            session=self.session,
            repo=self.repo,
            loaded=self.loaded,
            now=self.clock(),
            key=derive_state_key(self.secret),
            bot_login=ACTIONS_BOT,
        )

    async def carry_out(self, events_of: Callable[[Work], Awaitable[list[Event]]]) -> list[Plan]:
        """Decide the events (in the order their commands were written) and carry the plans
        out; again after a plan that opens issues, until every event is decided. The plans
        that wrote something."""
        carried_out: list[Plan] = []
        while True:
            work = self.work()
            events = await events_of(work)
            plans, handled = await decide_in_order(work, events) if events else ([], 0)
            if plans:
                plan = merge_plans(plans)
                await execute(
                    self.session, plan, render_card=work.render_card, board=work.follow_on_board
                )
                if not plan.writes_nothing:
                    carried_out.append(plan)
            if handled == len(events) or not plans:
                return carried_out

    async def catch_up(self, *, skip: int | None, run_id: str) -> None:
        """Decide the commands no run applied on the repository's other open incidents: one
        concurrency group serialises every Baton run of a repository, and GitHub cancels a
        pending run when a newer one comes, whichever issue that one is for."""
        label = self.loaded.config.labels.incident
        for issue in await incident_issues(self.session, self.repo, label, state="open"):
            if issue.number != skip:
                missed = partial(missed_on, issue=issue, delivery_id=f"{run_id}:{issue.number}")
                await self.carry_out(missed)


async def _as_given(events: list[Event]) -> list[Event]:
    return events


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
