"""Labels are an interface too: the incident label declares; severity and status labels changed
by hand move the card as the matching command would."""

from __future__ import annotations

from app.github.executor import Plan
from app.handlers.declare import declare_incident
from app.handlers.events import Event
from app.handlers.work import Work
from app.incident import rules
from app.incident.labels import severity_from_label, status_from_label


async def on_labeled(work: Work, event: Event) -> Plan | None:
    if event.label == work.config.labels.incident and event.issue_number is not None:
        return await declare_incident(work, event.issue_number, declared_by=event.sender or "")
    return await _follow_label(work, event, added=True)


async def on_unlabeled(work: Work, event: Event) -> Plan | None:
    return await _follow_label(work, event, added=False)


async def _follow_label(work: Work, event: Event, *, added: bool) -> Plan | None:
    label = event.label
    if label is None or event.issue_number is None or event.sender is None:
        return None
    if severity_from_label(label, work.config) is None and status_from_label(label) is None:
        return None
    issue, reading = await work.load_incident(event.issue_number)
    if reading.state is None:
        return None
    actor = await work.actor(event.sender, issue)
    decision = rules.apply_label_change(
        reading.state,
        (label,) if added else (),
        () if added else (label,),
        actor,
        issue,
        work.config,
        work.now,
    )
    return work.plan(decision, issue, previous=reading.state)
