"""The configuration as the rules read it: typed, checked, every default filled in.

Pure data. `app/config` builds it from `.github/baton.yml` (docs/configuration.md); the core
only reads it, so the core imports nothing of `app/config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from app.incident.calendar import Region


@dataclass(frozen=True)
class Labels:
    incident: str
    retrospective: str
    stale: str
    action: str
    public: str  # an incident with it is on the public status page


@dataclass(frozen=True)
class Responders:
    permission: str  # the minimum repository permission: read, triage, write, maintain or admin
    teams: tuple[str, ...]  # "org/slug"


@dataclass(frozen=True)
class Escalation:
    team: str | None  # "org/slug"


@dataclass(frozen=True)
class Clocks:
    acknowledge_within: timedelta
    escalate_after: timedelta
    update_every: Mapping[str, timedelta]  # one entry per configured severity
    handoff_reminder: timedelta
    close_after_working_hours: float
    stale_after_working_days: int


@dataclass(frozen=True)
class Retrospective:
    open_on: str  # "resolved" or "manual"
    required_for: tuple[str, ...]


@dataclass(frozen=True)
class Project:
    url: str
    status_field: str
    status_map: Mapping[str, str]  # one entry per incident status
    severity_field: str | None


@dataclass(frozen=True)
class Notify:
    slack_events: frozenset[str]  # the moments told to the Slack channel (app/incident/notices.py)


@dataclass(frozen=True)
class Config:
    labels: Labels
    severities: tuple[str, ...]  # most severe first
    default_severity: str
    responders: Responders
    escalation: Escalation
    clocks: Clocks
    retrospective: Retrospective
    working_hours: tuple[Region, ...]
    project: Project | None
    notify: Notify
