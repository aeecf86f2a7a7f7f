"""Handling one stored delivery: load the incident, decide, write back, reply.

The decision is journaled as a plan before the first GitHub request, so a delivery interrupted by
a crash or an outage resumes its plan instead of deciding again (which could not see what the
interrupted attempt already did).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from app.github.client import GitHubApp, GitHubBusy, GitHubSession
from app.github.config_source import ConfigCache
from app.github.executor import Plan, execute
from app.handlers.events import Event
from app.handlers.router import route_for
from app.handlers.work import Work
from app.server.store import Delivery, DeliveryStore
from app.server.worker import Reschedule

log = logging.getLogger(__name__)

# How far back to look for content an interrupted attempt may already have posted.
RESUME_LOOKBACK = timedelta(minutes=5)


class DeliveryProcessor:
    def __init__(
        self,
        *,
        github: GitHubApp,
        store: DeliveryStore,
        state_key: bytes,
        clock: Callable[[], datetime],
        configs: ConfigCache | None = None,
    ) -> None:
        self._github = github
        self._store = store
        self._key = state_key
        self._clock = clock
        self._configs = configs or ConfigCache()

    async def __call__(self, delivery: Delivery) -> None:
        event = Event(delivery.event, delivery.action, delivery.payload(), delivery.delivery_id)
        route = route_for(event.name, event.action)
        if route is None or event.installation_id is None or event.repo is None:
            return
        bot_login = await self._github.bot_login()
        if event.sender == bot_login:
            return  # Baton's own changes come back as deliveries: nothing to do
        try:
            async with self._github.installation(event.installation_id) as session:
                work = await self._work(session, event.repo, bot_login)
                if delivery.plan is not None:
                    await self._run(session, work, delivery, Plan.from_json(delivery.plan))
                    return
                plan = await route.handler(work, event)
                if plan is not None:
                    await self._store.save_plan(delivery.delivery_id, plan.to_json())
                    await self._run(session, work, delivery, plan)
        except GitHubBusy as busy:
            raise Reschedule(busy.after, busy.reason) from busy

    async def _work(self, session: GitHubSession, repo: str, bot_login: str) -> Work:
        return Work(
            session=session,
            repo=repo,
            loaded=await self._configs.get(session, repo),
            now=self._clock(),
            key=self._key,
            bot_login=bot_login,
        )

    async def _run(
        self, session: GitHubSession, work: Work, delivery: Delivery, plan: Plan
    ) -> None:
        resumed = delivery.plan is not None

        async def journal(step: int) -> None:
            await self._store.advance_plan(delivery.delivery_id, step)

        await execute(
            session,
            plan,
            render_card=work.render_card,
            board=work.follow_on_board,
            done_steps=delivery.plan_step if resumed else 0,
            journal=journal,
            resumed_since=delivery.received_at - RESUME_LOOKBACK if resumed else None,
        )
