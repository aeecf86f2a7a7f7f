"""Labels are an interface too: the incident label declares; severity and status labels changed
by hand move the card as the matching command would."""

from __future__ import annotations

from app.config import Config
from app.handlers.declare import declare_incident
from app.handlers.events import Event, Known
from app.handlers.work import Work
from app.incident import label_changes
from app.incident.labels import severity_from_label, status_from_label
from app.incident.plan import Plan


def labeled_matters(event: Event, known: Known) -> bool:
    """The incident label, or a severity or status label; any label while the configuration
    (which names them) is not at hand."""
    if known.config is None:
        return _labels_an_issue(event)
    return _declares(event, known.config) or _followed(event, known.config) is not None


def unlabeled_matters(event: Event, known: Known) -> bool:
    if known.config is None:
        return _labels_an_issue(event)
    return _followed(event, known.config) is not None


def _labels_an_issue(event: Event) -> bool:
    return event.label is not None and event.issue_number is not None


def _declares(event: Event, config: Config) -> bool:
    return event.label == config.labels.incident and event.issue_number is not None


def _followed(event: Event, config: Config) -> tuple[str, int, str] | None:
    """(label, issue number, sender) of a severity or status label, which the card follows."""
    label, number, sender = event.label, event.issue_number, event.sender
    if label is None or number is None or sender is None:
        return None
    if severity_from_label(label, config) is None and status_from_label(label) is None:
        return None
    return label, number, sender


async def on_labeled(work: Work, event: Event) -> Plan | None:
    if _declares(event, work.config) and event.issue_number is not None:
        return await declare_incident(work, event.issue_number, declared_by=event.sender or "")
    return await _follow_label(work, event, added=True)


async def on_unlabeled(work: Work, event: Event) -> Plan | None:
    return await _follow_label(work, event, added=False)


async def _follow_label(work: Work, event: Event, *, added: bool) -> Plan | None:
    followed = _followed(event, work.config)
    if followed is None:
        return None
    label, number, sender = followed
    issue, reading = await work.load_incident(number)
    if reading.state is None:
        return None
    actor = await work.actor(sender, issue)
    decision = label_changes.apply_label_change(
        reading.state,
        (label,) if added else (),
        () if added else (label,),
        actor,
        issue,
        work.config,
        work.now,
    )
    return work.plan(decision, issue, previous=reading.state)
