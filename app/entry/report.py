"""`baton report` (docs/report.md): incident figures computed from the incident issues themselves.

Every figure comes from the state each card carries (its MAC checked with the issue's own key),
so the report needs nothing but read access to the repository's issues. The definitions of the
figures are in docs/report.md; `incident_figures` is the pure part, `repository_report` lists
the issues and reads their cards.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.config import Config, parse_duration
from app.entry.credentials import repository_session, state_key
from app.entry.settings import Settings
from app.github.config_source import ConfigCache
from app.github.listing import incident_issues
from app.incident.card import read_card
from app.incident.clocks import first_update_due
from app.incident.retrospective import figures
from app.incident.state import OPEN_STATUSES, IncidentState, format_time, issue_state_key

log = logging.getLogger(__name__)

UPDATE_NUDGE = "update@"  # the key of an update reminder the sweep posted (see clocks.py)


# --- the figures (pure) ------------------------------------------------------------------------


def nearest_rank(samples: Sequence[timedelta], percent: int) -> timedelta | None:
    """The nearest-rank percentile: the smallest sample with at least `percent`% of the samples
    at or below it, i.e. the ceil(percent / 100 * n)-th smallest. None without samples."""
    if not samples:
        return None
    rank = max(1, -(-percent * len(samples) // 100))
    return sorted(samples)[rank - 1]


@dataclass(frozen=True)
class Durations:
    """How long one milestone took, over the incidents that reached it."""

    samples: int
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, samples: Sequence[timedelta]) -> Durations:
        return cls(len(samples), nearest_rank(samples, 50), nearest_rank(samples, 90))

    def to_json(self) -> dict[str, int | None]:
        return {
            "incidents": self.samples,
            "median_seconds": _seconds(self.median),
            "p90_seconds": _seconds(self.p90),
        }


@dataclass(frozen=True)
class Report:
    now: datetime
    since: timedelta | None  # None: every incident, however old
    incidents: int
    by_severity: dict[str, int]  # every configured severity, most severe first
    to_acknowledge: Durations
    to_mitigate: Durations
    to_resolve: Durations
    with_an_update: int
    reminded_to_update: int
    cadence_kept: int
    open_incidents: int
    updates_overdue: int  # open incidents whose next update is due already
    retrospectives_outstanding: int
    open_by_status: dict[str, int]  # every open status, in lifecycle order
    repo: str = ""
    unverified: int = 0  # incident issues whose card is there but cannot be trusted
    without_card: int = 0  # issues with the incident label but no card at all
    config_problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "now": format_time(self.now),
            "since_seconds": _seconds(self.since),
            "incidents": self.incidents,
            "by_severity": dict(self.by_severity),
            "time_to_acknowledge": self.to_acknowledge.to_json(),
            "time_to_mitigate": self.to_mitigate.to_json(),
            "time_to_resolve": self.to_resolve.to_json(),
            "updates": {
                "with_an_update": self.with_an_update,
                "reminded_to_update": self.reminded_to_update,
                "cadence_kept": self.cadence_kept,
                "overdue_now": self.updates_overdue,
            },
            "retrospectives_outstanding": self.retrospectives_outstanding,
            "open_incidents": self.open_incidents,
            "open_by_status": dict(self.open_by_status),
            "skipped": {"unverified": self.unverified, "without_card": self.without_card},
            "config_problems": list(self.config_problems),
        }

    def table(self) -> str:
        sections: list[Sequence[tuple[str, ...]]] = [
            [("Incidents", str(self.incidents))]
            + [(f"  {name}", str(count)) for name, count in self.by_severity.items()],
            [("", "incidents", "median", "p90")]
            + [
                (label, str(d.samples), _duration(d.median), _duration(d.p90))
                for label, d in (
                    ("Time to acknowledge", self.to_acknowledge),
                    ("Time to mitigate", self.to_mitigate),
                    ("Time to resolve", self.to_resolve),
                )
            ],
            [
                ("With at least one update", self._share(self.with_an_update)),
                ("Reminded to post an update", self._share(self.reminded_to_update)),
                ("Update cadence kept", self._share(self.cadence_kept)),
                (
                    "Open with an update overdue now",
                    f"{self.updates_overdue} of {self.open_incidents}",
                ),
                ("Retrospectives outstanding", str(self.retrospectives_outstanding)),
            ],
            [("Open incidents", str(self.open_incidents))]
            + [(f"  {status}", str(count)) for status, count in self.open_by_status.items()],
            [
                ("Cards that cannot be trusted (skipped)", str(self.unverified)),
                ("Labelled issues without a card (skipped)", str(self.without_card)),
            ],
        ]
        label_width = max(len(row[0]) for section in sections for row in section)
        lines = [self._title(), ""]
        for section in sections:
            lines += [*_aligned(section, label_width), ""]
        lines += [f"Configuration problem: {problem}" for problem in self.config_problems]
        return "\n".join(lines).rstrip()

    def _title(self) -> str:
        where = f" in {self.repo}" if self.repo else ""
        span = f"declared in the last {_duration(self.since)}" if self.since else "all time"
        return f"Incidents{where}, {span} (as of {self.now:%Y-%m-%d %H:%M} UTC)"

    def _share(self, count: int) -> str:
        return f"{count} of {self.incidents}"


def incident_figures(
    states: Sequence[IncidentState], *, now: datetime, since: timedelta | None, config: Config
) -> Report:
    """The figures over the incidents declared within `since` before `now` (all when None)."""
    counted = [s for s in states if _declared_within(s, now, since)]
    milestones = [figures(s) for s in counted]
    open_ones = [s for s in counted if s.status.is_open]
    severities = Counter(s.severity for s in counted)
    statuses = Counter(s.status for s in open_ones)
    return Report(
        now=now,
        since=since,
        incidents=len(counted),
        # Severities no longer configured still count, after the configured ones.
        by_severity={name: severities[name] for name in (*config.severities, *sorted(severities))},
        to_acknowledge=_durations(m.to_acknowledge for m in milestones),
        to_mitigate=_durations(m.to_mitigate for m in milestones),
        to_resolve=_durations(m.to_resolve for m in milestones),
        with_an_update=sum(1 for s in counted if s.last_update_at is not None),
        reminded_to_update=sum(1 for s in counted if _reminded_to_update(s)),
        cadence_kept=sum(
            1 for s in counted if not _reminded_to_update(s) and not _update_overdue(s, config, now)
        ),
        open_incidents=len(open_ones),
        updates_overdue=sum(1 for s in open_ones if _update_overdue(s, config, now)),
        retrospectives_outstanding=sum(1 for s in counted if _retrospective_outstanding(s, config)),
        open_by_status={status: statuses[status] for status in OPEN_STATUSES},
    )


def _declared_within(state: IncidentState, now: datetime, since: timedelta | None) -> bool:
    if since is None:
        return True
    return state.declared_at is not None and now - since <= state.declared_at <= now


def _durations(found: Iterable[timedelta | None]) -> Durations:
    return Durations.of([d for d in found if d is not None])


def _update_overdue(state: IncidentState, config: Config, now: datetime) -> bool:
    due = first_update_due(state, config)
    return state.status.is_open and due is not None and now >= due


def _reminded_to_update(state: IncidentState) -> bool:
    return any(key.startswith(UPDATE_NUDGE) for key in state.nudges)


def _retrospective_outstanding(state: IncidentState, config: Config) -> bool:
    return (
        not state.status.is_open
        and state.severity in config.retrospective.required_for
        and not state.report_done
    )


def _seconds(duration: timedelta | None) -> int | None:
    return None if duration is None else int(duration.total_seconds())


def _duration(duration: timedelta | None) -> str:
    """`-` when unknown, else its two largest units: `45s`, `7m`, `2h 5m`, `3d 4h`."""
    if duration is None:
        return "-"
    seconds = int(duration.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    parts = [
        f"{amount}{unit}"
        for amount, unit in (
            (seconds // 86400, "d"),
            (seconds % 86400 // 3600, "h"),
            (seconds % 3600 // 60, "m"),
            (seconds % 60, "s"),
        )
        if amount
    ]
    return sign + (" ".join(parts[:2]) or "0s")


def _aligned(rows: Sequence[tuple[str, ...]], label_width: int) -> list[str]:
    """The labels left-aligned to `label_width`, the figures right-aligned, two spaces apart."""
    widths = [label_width] + [max(len(row[i]) for row in rows) for i in range(1, len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def window(text: str) -> timedelta | None:
    """`--since`: a duration (`90d`, `2w`, `12h`), or `all` for every incident."""
    return None if text.strip().lower() == "all" else parse_duration(text)


# --- reading the incidents from GitHub ---------------------------------------------------------


async def repository_report(
    settings: Settings,
    *,
    repo: str,
    token: str | None,
    now: datetime,
    since: timedelta | None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Report:
    """The figures of one repository: with the App's credentials through its installation on
    the repository, else with `token`."""
    key = state_key(settings)
    async with repository_session(settings, repo, token, transport) as session:
        loaded = await ConfigCache().get(session, repo)
        listed = await incident_issues(
            session,
            repo,
            loaded.config.labels.incident,
            state="all",
            # an incident declared since then was updated since then too: its card was written
            updated_since=None if since is None else now - since,
        )
    states: list[IncidentState] = []
    unverified = without_card = 0
    for issue in listed:
        reading = read_card(issue.body, issue_state_key(key, repo, issue.number))
        if reading.state is not None:
            states.append(reading.state)
        elif reading.found:
            log.info("%s#%d: card not counted (%s)", repo, issue.number, reading.problem)
            unverified += 1
        else:
            without_card += 1
    report = incident_figures(states, now=now, since=since, config=loaded.config)
    return replace(
        report,
        repo=repo,
        unverified=unverified,
        without_card=without_card,
        config_problems=tuple(map(str, loaded.problems)),
    )
