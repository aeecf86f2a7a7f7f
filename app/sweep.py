"""The sweep (docs/sweep.md): run the incident clocks over every open incident.

One run lists a repository's open incidents page by page (`GET /repos/{o}/{r}/issues?labels=…`;
not search, which allows 30 requests a minute), reads each card from the listed body, and asks
the core which nudges are due. Only an incident with something due costs more requests: it is
re-read, decided on that fresh state, and written back with the executor.

Resuming: each nudge's key is recorded in the incident's state in the same write that posts it,
so a run stopped by its operations budget (or a crash) leaves the rest due, and the next run
does exactly what is left.

List pages are requested with `If-None-Match` (the ETag of the previous run's page, kept in
memory per repository). A 304 means the issues did not change, but their clocks did, so an
unchanged page is evaluated again from the bodies kept with its ETag.

In the server, `sweep_installations` does not write itself: it is given an `enqueue` that turns
each due incident into a `baton.sweep` delivery, so the worker's per-issue ordering keeps the
sweep from racing webhooks on the same issue (see `app/handlers/sweep.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx
from githubkit.utils import UNSET

from app.config import LoadResult
from app.github import issues as gh
from app.github.client import GitHubApp, GitHubSession, token_session
from app.github.config_source import ConfigCache
from app.github.executor import Plan, execute
from app.handlers.work import Work
from app.incident.calendar import calendar_for
from app.incident.clocks import Nudge, apply_nudges, due_nudges
from app.incident.effects import IssueView
from app.server.store import DeliveryStore, NewDelivery
from app.settings import Settings, SettingsError

log = logging.getLogger(__name__)

PER_PAGE = 100
DEFAULT_BUDGET = 100  # write operations per run, like actions/stale's operations-per-run
# What one due incident is assumed to cost when it is handed to the worker: the card, a comment.
ENQUEUED_WRITES = 2

# (repository, issue number, nudges due, installation id) -> False when already enqueued
Enqueue = Callable[[str, int, tuple[Nudge, ...], int | None], Awaitable[bool]]


@dataclass
class OperationsBudget:
    """Write operations one run may make; a run stops before it would exceed them."""

    limit: int = DEFAULT_BUDGET
    used: int = 0

    def allows(self, writes: int) -> bool:
        return self.used + writes <= self.limit

    def spend(self, writes: int) -> None:
        self.used += writes


@dataclass
class PlannedNudge:
    repo: str
    number: int
    nudges: tuple[str, ...]  # nudge keys
    writes: int
    plan: Plan | None = None  # None when handed to the worker


@dataclass
class SweepReport:
    listed: int = 0
    acted: list[PlannedNudge] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why)
    deferred: list[str] = field(default_factory=list)  # left for the next run: over budget
    # (repository, its configuration's problems): swept with those keys at their defaults
    config_problems: list[tuple[str, str]] = field(default_factory=list)
    dry_run: bool = False

    def merge(self, other: SweepReport) -> None:
        self.listed += other.listed
        self.acted += other.acted
        self.skipped += other.skipped
        self.deferred += other.deferred
        self.config_problems += other.config_problems

    def summary(self) -> str:
        verb = "would nudge" if self.dry_run else "nudged"
        return (
            f"{self.listed} open incidents; {verb} {len(self.acted)}; "
            f"skipped {len(self.skipped)}; left for the next run {len(self.deferred)}"
        )

    def lines(self) -> list[str]:
        """What was (or would be) done, one line each, for `baton sweep`."""
        out = [_config_line(repo, problems) for repo, problems in self.config_problems]
        out += [
            f"{a.repo}#{a.number}: {', '.join(a.nudges)} ({_writes_words(a)})" for a in self.acted
        ]
        out += [f"{where}: skipped, {why}" for where, why in self.skipped]
        out += [f"{where}: left for the next run (budget)" for where in self.deferred]
        return out


def _config_line(repo: str, problems: str) -> str:
    return f"{repo}: its configuration has problems; these keys have their defaults: {problems}"


def _writes_words(planned: PlannedNudge) -> str:
    plan = planned.plan
    if plan is None:
        return "handed to the worker"
    parts = []
    if plan.state is not None:
        parts.append("card")
    if plan.labels is not None:
        parts.append(f"labels {', '.join(plan.labels)}")
    if plan.issue_state is not None:
        parts.append(f"state {plan.issue_state}")
    parts += [f"comment {reply.key}" for reply in plan.replies]
    return "; ".join(parts) or "nothing"


# --- the listing, with conditional requests ----------------------------------------------------


@dataclass
class _Page:
    items: list[Any]
    has_next: bool


@dataclass
class ListingCache:
    """The previous run's list pages (installations, repositories, open incidents) with their
    ETags: a page GitHub answers with 304 Not Modified costs no rate limit."""

    pages: dict[tuple[object, ...], tuple[str, Any]] = field(default_factory=dict)


_Parsed = TypeVar("_Parsed")


async def _listed(
    listings: ListingCache | None,
    key: tuple[object, ...],
    request: Callable[[dict[str, str] | None], Awaitable[Any]],
    parse: Callable[[Any], _Parsed],
) -> _Parsed:
    """One list page, asked for with the ETag of the last answer when there is one."""
    cached = listings.pages.get(key) if listings is not None else None
    response = await request({"If-None-Match": cached[0]} if cached is not None else None)
    if response.status_code == 304 and cached is not None:
        parsed: _Parsed = cached[1]
        return parsed
    parsed = parse(response)
    etag = response.headers.get("etag", "")
    if listings is not None and etag:
        listings.pages[key] = (etag, parsed)
    return parsed


async def _every_page(
    listings: ListingCache | None,
    key: tuple[object, ...],
    request: Callable[[int, dict[str, str] | None], Awaitable[Any]],
    parse: Callable[[Any], _Page],
) -> list[Any]:
    """Every page of one list, each asked for with its last ETag (`request(page, headers)`)."""
    found: list[Any] = []
    number = 1
    while True:
        page = await _listed(
            listings,
            (*key, number),
            lambda headers, n=number: request(n, headers),  # type: ignore[misc]
            parse,
        )
        found += page.items
        if not page.has_next:
            return found
        number += 1


async def open_incidents(
    session: GitHubSession, repo: str, label: str, listings: ListingCache | None
) -> list[IssueView]:
    owner, name = gh.split_repo(repo)
    found: list[IssueView] = await _every_page(
        listings,
        ("issues", repo),
        lambda number, headers: session.read(
            lambda: session.rest.issues.async_list_for_repo(
                owner,
                name,
                labels=label,
                state="open",
                per_page=PER_PAGE,
                page=number,
                headers=headers,
            )
        ),
        lambda response: _page_of(repo, response),
    )
    return found


def _page_of(repo: str, response: Any) -> _Page:
    issues = [
        gh.issue_view(repo, issue)
        for issue in response.parsed_data
        if getattr(issue, "pull_request", None) in (None, UNSET)  # pull requests are listed too
    ]
    link = response.headers.get("link", "")
    return _Page(issues, 'rel="next"' in link)


# --- one repository ----------------------------------------------------------------------------


async def sweep_repository(
    session: GitHubSession,
    repo: str,
    *,
    configs: ConfigCache,
    key: bytes,
    now: datetime,
    dry_run: bool = False,
    budget: OperationsBudget,
    listings: ListingCache | None = None,
    enqueue: Enqueue | None = None,
    installation_id: int | None = None,
) -> SweepReport:
    """Run the clocks over one repository's open incidents: inline (the command line, Action
    mode), or handing each due incident to `enqueue` (the server)."""
    report = SweepReport(dry_run=dry_run)
    loaded = await configs.get(session, repo)
    if loaded.problems:  # the broken keys have their defaults, as for the handlers
        report.config_problems.append((repo, _problems(loaded)))
    # No bot login: nudges never need to tell Baton's own comments apart (commands do).
    work = Work(session=session, repo=repo, loaded=loaded, now=now, key=key)
    session.nudging = True
    calendar = calendar_for(work.config.working_hours)
    listed = await open_incidents(session, repo, work.config.labels.incident, listings)
    report.listed = len(listed)
    for issue in listed:
        where = f"{repo}#{issue.number}"
        reading = work.read_card(issue.body, issue.number)
        if reading.state is None:
            if reading.found:
                report.skipped.append((where, f"its card cannot be trusted ({reading.problem})"))
            continue
        due = due_nudges(reading.state, work.config, calendar, now)
        if not due:
            continue
        if report.deferred or session.nudges_must_wait() is not None:
            # Out of budget, or the rate limit is low and kept for commands: the rest waits
            # for the next run, in order.
            report.deferred.append(where)
            continue
        if enqueue is not None and not dry_run:
            await _hand_over(enqueue, report, budget, where, issue, due, installation_id)
        else:
            await _nudge_inline(work, report, budget, issue.number, dry_run=dry_run)
    return report


async def _hand_over(
    enqueue: Enqueue,
    report: SweepReport,
    budget: OperationsBudget,
    where: str,
    issue: IssueView,
    due: tuple[Nudge, ...],
    installation_id: int | None,
) -> None:
    if not budget.allows(ENQUEUED_WRITES):
        report.deferred.append(where)
        return
    if await enqueue(issue.repo, issue.number, due, installation_id):
        budget.spend(ENQUEUED_WRITES)
        keys = tuple(n.key for n in due)
        report.acted.append(PlannedNudge(issue.repo, issue.number, keys, ENQUEUED_WRITES))


async def _nudge_inline(
    work: Work, report: SweepReport, budget: OperationsBudget, number: int, *, dry_run: bool
) -> None:
    where = f"{work.repo}#{number}"
    outcome = await nudge_plan(work, number)
    if isinstance(outcome, str):
        report.skipped.append((where, outcome))
        return
    if outcome is None:
        return
    plan, keys = outcome
    writes = plan_writes(plan)
    if not budget.allows(writes):
        report.deferred.append(where)
        return
    budget.spend(writes)
    report.acted.append(PlannedNudge(work.repo, number, keys, writes, plan))
    if not dry_run:
        await execute(work.session, plan, render_card=work.render_card, board=work.follow_on_board)


async def nudge_plan(work: Work, number: int) -> tuple[Plan, tuple[str, ...]] | str | None:
    """The plan for the nudges due on one incident, decided on the issue as GitHub has it now;
    None when nothing is due any more, or why the incident must be left alone."""
    issue, reading = await work.load_incident(number)
    state = reading.state
    if issue.state != "open" or (state is None and not reading.found):
        return None
    if state is None:
        return f"its card cannot be trusted ({reading.problem})"
    due = due_nudges(state, work.config, calendar_for(work.config.working_hours), work.now)
    if not due:
        return None
    decision = apply_nudges(state, due, work.config, work.now, issue.labels)
    return work.plan(decision, issue, state), tuple(n.key for n in due)


def plan_writes(plan: Plan) -> int:
    """Write requests the plan makes (labels Baton creates on first use aside)."""
    updates = (
        plan.state is not None
        or plan.labels is not None
        or plan.assignees is not None
        or plan.issue_state is not None
    )
    return len(plan.reactions) + len(plan.new_issues) + int(updates) + len(plan.replies)


def _problems(loaded: LoadResult, shown: int = 3) -> str:
    """The first problems and how many more: a file can hold thousands, a report line not."""
    more = len(loaded.problems) - shown
    return "; ".join(map(str, loaded.problems[:shown])) + (f"; and {more} more" if more > 0 else "")


# --- every installation ------------------------------------------------------------------------


async def installations(github_app: GitHubApp, listings: ListingCache | None) -> list[int]:
    """The App's installations (`GET /app/installations`, with the App's JWT)."""
    async with github_app.as_app() as app:
        found: list[int] = await _every_page(
            listings,
            ("installations",),
            lambda number, headers: app.read(
                lambda: app.rest.apps.async_list_installations(
                    per_page=PER_PAGE, page=number, headers=headers
                )
            ),
            lambda response: _Page(
                [installation.id for installation in response.parsed_data],
                len(response.parsed_data) == PER_PAGE,
            ),
        )
    return found


async def installation_repositories(
    session: GitHubSession, installation_id: int, listings: ListingCache | None
) -> list[str]:
    """The repositories one installation covers (`GET /installation/repositories`)."""
    found: list[str] = await _every_page(
        listings,
        ("repositories", installation_id),
        lambda number, headers: session.read(
            lambda: session.rest.apps.async_list_repos_accessible_to_installation(
                per_page=PER_PAGE, page=number, headers=headers
            )
        ),
        lambda response: _Page(
            [r.full_name for r in response.parsed_data.repositories],
            len(response.parsed_data.repositories) == PER_PAGE,
        ),
    )
    return found


async def sweep_installations(
    github_app: GitHubApp,
    *,
    configs: ConfigCache,
    key: bytes,
    now: datetime,
    dry_run: bool = False,
    budget: OperationsBudget,
    listings: ListingCache | None = None,
    enqueue: Enqueue | None = None,
    only_repo: str | None = None,
) -> SweepReport:
    """Sweep every repository of every installation (or only `only_repo`), sharing one budget."""
    report = SweepReport(dry_run=dry_run)
    for installation_id in await installations(github_app, listings):
        async with github_app.installation(installation_id) as session:
            for repo in await installation_repositories(session, installation_id, listings):
                if only_repo is not None and repo.lower() != only_repo.lower():
                    continue
                report.merge(
                    await sweep_repository(
                        session,
                        repo,
                        configs=configs,
                        key=key,
                        now=now,
                        dry_run=dry_run,
                        budget=budget,
                        listings=listings,
                        enqueue=enqueue,
                        installation_id=installation_id,
                    )
                )
    return report


# --- in the server ------------------------------------------------------------------------------

SWEEP_EVENT = "baton.sweep"  # the synthetic delivery that runs one incident's nudges
SWEEP_ACTION = "due"


class ServerSweep:
    """The server's sweep: each due incident becomes a stored `baton.sweep` delivery, ordered
    with the webhooks of the same issue. Its id names the nudges due, so a second sweep before
    the worker got to it (or after a restart) stores nothing new."""

    def __init__(
        self,
        *,
        github: GitHubApp,
        store: DeliveryStore,
        notify: Callable[[], None],
        key: bytes,
        clock: Callable[[], datetime],
        budget: int = DEFAULT_BUDGET,
        configs: ConfigCache | None = None,
    ) -> None:
        self._github = github
        self._store = store
        self._notify = notify
        self._key = key
        self._clock = clock
        self._budget = budget
        self._configs = configs or ConfigCache()  # shared with the worker: one read per minute
        self._listings = ListingCache()
        self._told: dict[str, str] = {}  # repository -> the configuration problems last named

    async def run_once(self) -> SweepReport:
        report = await sweep_installations(
            self._github,
            configs=self._configs,
            key=self._key,
            now=self._clock(),
            budget=OperationsBudget(self._budget),
            listings=self._listings,
            enqueue=self._enqueue,
        )
        # Named once, and again when they change (or come back once fixed): not at every run.
        told, self._told = self._told, dict(report.config_problems)
        report.config_problems = [
            (repo, problems)
            for repo, problems in report.config_problems
            if told.get(repo) != problems
        ]
        for repo, problems in report.config_problems:
            log.warning("sweep: %s", _config_line(repo, problems))
        log.info("sweep: %s", report.summary())
        return report

    async def _enqueue(
        self, repo: str, number: int, due: tuple[Nudge, ...], installation_id: int | None
    ) -> bool:
        keys = [nudge.key for nudge in due]
        digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
        payload = {
            "action": SWEEP_ACTION,
            "installation": {"id": installation_id},
            "repository": {"full_name": repo},
            "issue": {"number": number},
            "nudges": keys,
        }
        added = await self._store.add(
            NewDelivery(
                delivery_id=f"sweep:{repo}#{number}:{digest}",
                event=SWEEP_EVENT,
                action=SWEEP_ACTION,
                issue_key=f"{repo}#{number}",
                body=json.dumps(payload).encode(),
                received_at=self._clock(),
            )
        )
        if added:
            self._notify()
        return added


class Periodic:
    """Runs a job every `every` seconds in the background until stopped; 0 never runs it."""

    def __init__(
        self, job: Callable[[], Awaitable[object]], every: float, *, at_start: bool, name: str
    ) -> None:
        self._job = job
        self._every = every
        self._at_start = at_start
        self._name = name
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._every > 0:
            self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        if not self._at_start:
            await asyncio.sleep(self._every)
        while True:
            try:
                await self._job()
            except Exception:  # the next round tries again; the server keeps serving
                log.exception("%s failed", self._name)
            await asyncio.sleep(self._every)


# --- `baton sweep` ------------------------------------------------------------------------------


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
    (Action mode) the one repository."""
    options: dict[str, Any] = {
        "configs": ConfigCache(),
        "key": settings.state_key(),
        "now": now,
        "dry_run": dry_run,
        "budget": OperationsBudget(budget),
    }
    if settings.app_id and settings.private_key:
        async with GitHubApp.from_settings(settings, transport=transport) as github:
            return await sweep_installations(github, only_repo=repo, **options)
    if not token or not repo:
        raise SettingsError(
            "set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, or GITHUB_TOKEN and --repo "
            "(or GITHUB_REPOSITORY)"
        )
    async with token_session(
        token, settings.api_url, timeout=settings.http_timeout, transport=transport
    ) as session:
        return await sweep_repository(session, repo, **options)
