"""`baton.sweep`: the server's sweep found nudges due on an incident (see `app/sweep.py`).

The sweep stores this delivery instead of writing itself, so it waits behind the webhooks of
the same issue; here the nudges are decided again on the issue as it is now."""

from __future__ import annotations

import logging

from app.github.client import GitHubBusy
from app.github.executor import Plan
from app.handlers.events import Event
from app.handlers.work import Work
from app.sweep import nudge_plan

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
