"""`baton.sweep`: the server's sweep found nudges due on an incident (app/jobs/server_sweep.py).

The sweep stores this delivery instead of writing itself, so it waits behind the webhooks of
the same issue; here the nudges are decided again on the issue as it is now."""

from __future__ import annotations

import logging

from app.github.client import GitHubBusy
from app.handlers.events import Event
from app.handlers.work import Work
from app.incident.calendar import calendar_for
from app.incident.clocks import apply_nudges, due_nudges
from app.incident.plan import Plan

log = logging.getLogger(__name__)


async def on_nudges_due(work: Work, event: Event) -> Plan | None:
    number = event.issue_number
    if number is None:
        return None
    if (wait := work.session.nudges_must_wait()) is not None:
        raise GitHubBusy(wait, "reminders wait: the rest of the rate limit is kept for commands")
    work.session.nudging = True
    outcome = await nudge_plan(work, number)
    if isinstance(outcome, str):
        log.warning("sweep: %s#%d left alone: %s", work.repo, number, outcome)
        return None
    return None if outcome is None else outcome[0]


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
