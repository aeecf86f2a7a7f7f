"""Baton was given repositories (`installation.created`, `installation_repositories.added`):
its labels are created in each of them at once.

GitHub drops, without a word, an issue form's labels that the repository does not have, so an
incident reported through the form on a repository where Baton was just installed would declare
nothing. A delivery about an installation names many repositories; each becomes a
`baton.labels` delivery of its own, so that the work is stored, retried and rescheduled
repository by repository like any other delivery.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from githubkit.exception import RequestFailed

from app.github import issues as gh
from app.github.client import is_not_found
from app.handlers.events import Event
from app.handlers.work import Work
from app.incident.labels import baton_labels
from app.incident.plan import Plan
from app.server.store import NewDelivery

log = logging.getLogger(__name__)

LABELS_EVENT = "baton.labels"
LABELS_ACTION = "due"
# Where each kind of delivery lists the repositories Baton was given.
_GIVEN = {"installation": "repositories", "installation_repositories": "repositories_added"}


def repositories_given(event: Event) -> list[str]:
    listed = event.payload.get(_GIVEN.get(event.name, ""))
    if not isinstance(listed, list):
        return []
    return [
        name
        for repository in listed
        if isinstance(repository, Mapping) and isinstance(name := repository.get("full_name"), str)
    ]


def label_deliveries(event: Event, received_at: datetime) -> list[NewDelivery]:
    """One `baton.labels` delivery per repository given; their ids follow from the delivery's,
    so that handling it again stores nothing new."""
    return [
        NewDelivery(
            delivery_id=f"labels:{event.delivery_id}:{repo}",
            event=LABELS_EVENT,
            action=LABELS_ACTION,
            issue_key=None,
            body=json.dumps(_labels_payload(event, repo)).encode(),
            received_at=received_at,
        )
        for repo in repositories_given(event)
    ]


def _labels_payload(event: Event, repo: str) -> dict[str, Any]:
    return {
        "action": LABELS_ACTION,
        "installation": {"id": event.installation_id},
        "repository": {"full_name": repo},
    }


async def on_labels_due(work: Work, event: Event) -> Plan | None:
    """Create the labels the repository lacks, named as its configuration names them: one
    listing of its labels, then one request per missing label."""
    try:
        await gh.ensure_labels(work.session, work.repo, baton_labels(work.config), work.config)
    except RequestFailed as error:
        if not is_not_found(error):
            raise
        log.info("%s is gone or no longer given to Baton: no labels created", work.repo)
    return None
