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

In the server, `sweep_installations` does not write itself: it is given an `enqueue` (see
app/jobs/server_sweep.py) that turns each due incident into a `baton.sweep` delivery, so the
worker's per-issue ordering keeps the sweep from racing webhooks on the same issue (see
`app/handlers/sweep.py`).

Elsewhere: the listing with its ETags is app/github/listing.py, the report of a run
app/jobs/sweep_report.py, and `baton sweep` app/entry/sweep_once.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from app.config import LoadResult
from app.github.client import GitHubApp, GitHubSession
from app.github.config_source import ConfigCache
from app.github.executor import execute
from app.github.listing import (
    ListingCache,
    incident_issues,
    installation_repositories,
    installations,
)
from app.handlers.sweep import nudge_plan
from app.handlers.work import Work
from app.incident.calendar import calendar_for
from app.incident.clocks import Nudge, due_nudges
from app.incident.effects import IssueView
from app.incident.plan import Plan
from app.jobs.sweep_report import OperationsBudget, PlannedNudge, SweepReport

# What one due incident is assumed to cost when it is handed to the worker: the card, a comment.
ENQUEUED_WRITES = 2

# (repository, issue number, nudges due, installation id) -> False when already enqueued
Enqueue = Callable[[str, int, tuple[Nudge, ...], int | None], Awaitable[bool]]


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
    listed = await incident_issues(session, repo, work.config.labels.incident, listings=listings)
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
