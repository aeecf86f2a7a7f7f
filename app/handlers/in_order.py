"""Deciding the deliveries of one issue so that commands take effect in the order they were
written, whatever order their deliveries arrive in: each command comment is preceded by the
ones written before it that were missed (their deliveries late, lost, or their Actions runs
cancelled). The server's pipeline and Actions mode both decide through here."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from app.handlers.commands import missed_before
from app.handlers.events import Event
from app.handlers.router import route_for
from app.handlers.work import Work
from app.incident.plan import Plan

log = logging.getLogger(__name__)


async def decide_in_order(work: Work, events: Sequence[Event]) -> tuple[list[Plan], int]:
    """The plans of the first of `events` (deliveries of one issue, in the order they came),
    and how many of them they stand for.

    An event that cannot be decided now ends the list before it (it is decided again on its
    own, where its error counts); so does one after a plan that opens issues, whose numbers
    the card gets only once GitHub has them: then the plans may stand for none of `events`,
    only for comments missed before the first."""
    plans: list[Plan] = []
    decided: set[int] = set()  # the comments decided so far, delivered or missed
    for handled, event in enumerate(events):
        try:
            missed = await missed_before(work, event, decided)
            for current in [] if missed is None else [*missed, event]:
                plan = await decide_one(work, current)
                if current.comment_id is not None:
                    decided.add(current.comment_id)
                if plan is None:
                    continue
                plans.append(plan)
                if plan.new_issues:  # what follows waits for the issue numbers
                    return plans, handled + (current is event)
                work.remember(plan)
        except Exception:
            if handled == 0:
                raise
            log.debug("delivery %s is left for later", event.delivery_id, exc_info=True)
            return plans, handled
    return plans, len(events)


async def decide_one(work: Work, event: Event) -> Plan | None:
    route = route_for(event.name, event.action)
    if route is None:
        return None
    handler = route.own if event.sender == work.bot_login else route.handler
    return None if handler is None else await handler(work, event)
