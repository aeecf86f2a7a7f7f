"""Declaring an incident: the incident label arrives (by hand, by an issue form, or `/declare`)."""

from __future__ import annotations

from app.handlers.events import Event, Known
from app.handlers.work import Work
from app.incident import declaring
from app.incident.effects import Actor
from app.incident.forms import read_incident_form
from app.incident.plan import Plan


def opened_matters(event: Event, known: Known) -> bool:
    """An issue opened with the incident label (by an issue form, or by hand)."""
    issue = event.issue_view()
    if issue is None:
        return False
    return known.config is None or known.config.labels.incident in issue.labels


async def on_issue_opened(work: Work, event: Event) -> Plan | None:
    issue = event.issue_view()
    if issue is None or not opened_matters(event, work.known):
        return None
    return await declare_incident(work, issue.number, declared_by=event.sender or issue.author)


async def declare_incident(work: Work, number: int, *, declared_by: str) -> Plan | None:
    """Write the card and the first response, once: an issue that has a card is left alone."""
    issue, reading = await work.load_incident(number)
    if reading.found or work.config.labels.incident not in issue.labels:
        return None
    form = read_incident_form(issue.body)  # an issue form sets the severity; impact and start show
    decision = declaring.declare(
        issue,
        Actor(login=declared_by),
        work.config,
        work.now,
        severity=form.severity,
        impact=form.impact,
        started=form.started,
    )
    return work.plan(decision, issue, previous=None)
