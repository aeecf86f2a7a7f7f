"""Handling stored deliveries: load the incident, decide, write back, reply.

Comments queued behind each other on one issue come as a run: each is decided on the incident
as the ones before it leave it, and the plans become one. The decision is journaled as a plan
before the first GitHub request, so a delivery interrupted by a crash or an outage resumes its
plan instead of deciding again (which could not see what the interrupted attempt already did).

Commands take effect in the order they were written: a command comment's earlier ones that were
neither applied nor answered (their deliveries late or lost) are decided before it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from app.chat.slack import SlackWebhook
from app.github.client import GitHubApp, GitHubBusy, GitHubSession, counting_requests
from app.github.config_source import ConfigCache
from app.github.executor import execute
from app.handlers.commands import has_commands
from app.handlers.events import Event
from app.handlers.in_order import decide_in_order
from app.handlers.router import route_for, spread_for
from app.handlers.work import Work
from app.handlers.writes import Written, body_digest
from app.incident.plan import Plan, merge_plans
from app.logs import one_line
from app.pipeline.announcing import NOTICE_EVENT, announce, notice_deliveries
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
        chat: SlackWebhook | None = None,
    ) -> None:
        self._github = github
        self._store = store
        self._key = state_key
        self._clock = clock
        self._configs = configs or ConfigCache()
        self._writes = StoreWrites(store)
        self._chat = chat

    async def __call__(self, run: Sequence[Delivery]) -> int:
        """Handle a run of deliveries of one issue (see `app.server.worker.Process`), and say
        in one log line what was decided, with how many GitHub requests and how long it took."""
        started, handled, decided = time.perf_counter(), 1, "failed"
        with counting_requests() as requests:
            try:
                handled, decided = await self._handle(run)
            except Reschedule as wait:
                decided = f"postponed: {wait.reason}"
                raise
            except Exception as error:
                decided = f"failed: {type(error).__name__}"
                raise
            finally:
                _tell(run[0], handled, decided, requests.sent, time.perf_counter() - started)
        return handled

    async def _handle(self, run: Sequence[Delivery]) -> tuple[int, str]:
        """Decided one after the other on one copy of the incident, carried out as one plan;
        how many deliveries of the run that was, and what was decided.

        A plan may hold only command comments missed before the first delivery's, when one of
        them opens issues: once it is carried out, the delivery is decided on the incident it
        left (so too after a crash, when that plan was the one journaled)."""
        head = run[0]
        if head.event == NOTICE_EVENT:
            return 1, await announce(head, self._chat)
        event = _event(head)
        spread = spread_for(event.name, event.action)
        if spread is not None:
            spread_into = spread(event, self._clock())
            for delivery in spread_into:
                await self._store.add(delivery)  # a duplicate, after a retry, is not added
            return 1, f"one delivery for each of {len(spread_into)} repositories"
        route = route_for(event.name, event.action)
        if route is None or event.installation_id is None:
            return 1, "ignored: not an event Baton handles"
        bot_login = await self._github.bot_login()
        if event.repo is None or (event.sender == bot_login and route.own is None):
            return 1, "ignored: Baton's own change"  # it comes back as a delivery
        try:
            async with self._github.installation(event.installation_id) as session:
                said: list[str] = []
                if head.plan is not None:
                    plan = Plan.from_json(head.plan)
                    work = await self._work(session, event, bot_login)
                    await self._run(session, work, head, plan, resumed=True)
                    said.append(f"resumed: {plan.summary()}")
                    if not _leaves_undecided(plan, event):
                        return 1, said[0]
                while True:
                    work = await self._work(session, event, bot_login)
                    plans, handled = await self._decide(work, event, run)
                    if plans:
                        plan = merge_plans(plans)
                        covered = [d.delivery_id for d in run[1:handled]]
                        await self._store.save_plan(head.delivery_id, plan.to_json(), covered)
                        await self._run(session, work, head, plan, resumed=False)
                        said.append(plan.summary())
                    if handled:
                        return handled, "; then ".join(said) or "nothing to do"
        except GitHubBusy as busy:
            raise Reschedule(busy.after, busy.reason) from busy

    async def _decide(
        self, work: Work, head: Event, run: Sequence[Delivery]
    ) -> tuple[list[Plan], int]:
        """The plans of the run's first deliveries (see `decide_in_order`), and how many
        deliveries they stand for: a later delivery joins only from the same place."""
        events = [head]
        for delivery in run[1:]:
            event = _event(delivery)
            if not _same_place(event, head, delivery):
                break
            events.append(event)
        return await decide_in_order(work, events)

    async def _work(self, session: GitHubSession, event: Event, bot_login: str) -> Work:
        assert event.repo is not None
        return Work(
            session=session,
            repo=event.repo,
            loaded=await self._configs.get(session, event.repo),
            now=self._clock(),
            key=self._key,
            bot_login=bot_login,
            writes=self._writes,
            notify=self._chat is not None,
        )

    async def _run(
        self, session: GitHubSession, work: Work, delivery: Delivery, plan: Plan, *, resumed: bool
    ) -> None:
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
            wrote=partial(self._writes.record, work.repo),
        )
        # After the GitHub writes, in their own line: see app/pipeline/announcing.py.
        for notice in notice_deliveries(plan, self._clock()):
            await self._store.add(notice)  # a notice stored before is not stored again


@dataclass(frozen=True)
class StoreWrites:
    """What Baton last wrote of each issue (see app/handlers/writes.py), in the delivery store
    that every process shares."""

    store: DeliveryStore

    async def last_written(self, repo: str, number: int) -> Written | None:
        row = await self.store.last_write(f"{repo}#{number}")
        return None if row is None else Written(body=row[0], over=row[1])

    async def record(self, repo: str, number: int, body: str, read: str) -> None:
        await self.store.record_write(f"{repo}#{number}", body, body_digest(read))


def _tell(head: Delivery, handled: int, decided: str, requests: int, seconds: float) -> None:
    """The log line of a handled run of deliveries; in JSON, each part is a field of its own."""
    repo, number = _place(head)
    event = f"{head.event}.{head.action}" if head.action else head.event
    ms = round(seconds * 1000)
    where = f"{repo or '-'}{'' if number is None else f'#{number}'}"
    run = f" ({handled} deliveries)" if handled > 1 else ""
    said = one_line(decided)
    log.info(
        "%s %s%s: %s; %d %s; %d ms",
        event,
        where,
        run,
        said,
        requests,
        "request" if requests == 1 else "requests",
        ms,
        extra={
            "event": event,
            "delivery": head.delivery_id,
            "repo": repo,
            "issue": number,
            "deliveries": handled,
            "decision": said,
            "requests": requests,
            "ms": ms,
        },
    )


def _place(delivery: Delivery) -> tuple[str | None, int | None]:
    """The repository and issue a delivery is about (read from its payload only when it is
    about no issue: installations, a repository's labels)."""
    if delivery.issue_key is None:
        return _event(delivery).repo, None
    repo, _, number = delivery.issue_key.rpartition("#")
    return repo, int(number)


def _event(delivery: Delivery) -> Event:
    return Event(delivery.event, delivery.action, delivery.payload(), delivery.delivery_id)


def _leaves_undecided(plan: Plan, event: Event) -> bool:
    """Whether `plan` holds only comments missed before the command comment of `event`, not
    its own decision (every command comment's decision answers it)."""
    comment_id = event.comment_id
    if comment_id is None or not has_commands(event.comment_body):
        return False
    return all(reply.key != f"comment:{comment_id}" for reply in plan.replies)


def _same_place(event: Event, head: Event, delivery: Delivery) -> bool:
    """A later delivery joins the run only from the same installation and repository, and
    when no earlier attempt of it journaled a plan of its own."""
    return (
        delivery.plan is None
        and event.installation_id == head.installation_id
        and event.repo == head.repo
    )
