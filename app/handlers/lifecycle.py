"""Issues closed and reopened with GitHub's buttons: the incident's own, and its retrospective's."""

from __future__ import annotations

import re

from app.handlers.events import Event, Known
from app.handlers.work import Work
from app.incident import lifecycle
from app.incident.plan import Plan

# The marker a retrospective issue carries (see app/github/issues.py, ISSUE_MARKER).
RETRO_MARKER = re.compile(r"<!-- baton:issue retro:(?P<repo>[\w.-]+/[\w.-]+)#(?P<number>\d+) -->")


def open_or_closed_matters(event: Event, known: Known) -> bool:
    """An incident or a retrospective closed or reopened by hand."""
    issue = event.issue_view()
    if issue is None or event.sender is None:
        return False
    if known.config is None:
        return True
    labels = known.config.labels
    return labels.retrospective in issue.labels or labels.incident in issue.labels


async def on_issue_closed(work: Work, event: Event) -> Plan | None:
    return await _open_or_closed(work, event, closed=True)


async def on_issue_reopened(work: Work, event: Event) -> Plan | None:
    return await _open_or_closed(work, event, closed=False)


async def _open_or_closed(work: Work, event: Event, *, closed: bool) -> Plan | None:
    issue = event.issue_view()
    if issue is None or event.sender is None or not open_or_closed_matters(event, work.known):
        return None
    if work.config.labels.retrospective in issue.labels:
        return await _retrospective(work, issue.body, issue.number, closed=closed)
    current, reading = await work.load_incident(issue.number)
    if reading.state is None:
        return None
    actor = await work.actor(event.sender, current)
    change = lifecycle.closed_by_hand if closed else lifecycle.reopened_by_hand
    decision = change(reading.state, actor, current, config=work.config, now=work.now)
    return work.plan(decision, current, previous=reading.state)


async def _retrospective(work: Work, body: str, retro: int, *, closed: bool) -> Plan | None:
    marker = RETRO_MARKER.search(body)
    if marker is None or marker["repo"].lower() != work.repo.lower():
        return None
    issue, reading = await work.load_incident(int(marker["number"]))
    if reading.state is None:
        return None
    decision = lifecycle.retrospective_closed(
        reading.state, issue, retro, closed=closed, config=work.config, now=work.now
    )
    return work.plan(decision, issue, previous=reading.state)
