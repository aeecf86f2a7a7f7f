"""`baton report`'s figures, computed from hand-built incident states."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import config_from_layers
from app.entry.report import incident_figures, nearest_rank, window
from app.incident.state import OPEN_STATUSES, IncidentState, Status

# sev1..sev4; updates every 30m/1h/4h/1d; retros for sev1, sev2
CONFIG = config_from_layers([]).config
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def incident(
    declared_ago: timedelta,
    *,
    severity: str = "sev3",
    status: str = "investigating",
    ack: float | None = None,
    mitigated: float | None = None,
    resolved: float | None = None,
    updated: float | None = None,
    **more: Any,
) -> IncidentState:
    """An incident declared `declared_ago` before NOW; milestones in minutes after declaring."""
    declared = NOW - declared_ago

    def after(offset: float | None) -> datetime | None:
        return None if offset is None else declared + minutes(offset)

    return replace(
        IncidentState(
            status=Status(status),
            severity=severity,
            declared_at=declared,
            acknowledged_at=after(ack),
            mitigated_at=after(mitigated),
            resolved_at=after(resolved),
            last_update_at=after(updated),
        ),
        **more,
    )


# --- the nearest-rank percentile ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "median", "p90"),
    [
        ([7], 7, 7),
        ([3, 1], 1, 3),  # the lower middle for an even count; p90 of two is the larger
        ([2, 9, 4], 4, 9),
        (list(range(1, 11)), 5, 9),
        (list(range(1, 21)), 10, 18),
    ],
)
def test_nearest_rank_with_few_samples(values: list[int], median: int, p90: int) -> None:
    samples = [minutes(v) for v in values]
    assert nearest_rank(samples, 50) == minutes(median)
    assert nearest_rank(samples, 90) == minutes(p90)


def test_nearest_rank_without_samples() -> None:
    assert nearest_rank([], 50) is None


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=60), st.integers(1, 100))
def test_nearest_rank_is_the_smallest_sample_covering_the_percentage(
    values: list[int], percent: int
) -> None:
    samples = [timedelta(seconds=v) for v in values]
    found = nearest_rank(samples, percent)
    assert found in samples
    assert sum(s <= found for s in samples) * 100 >= percent * len(samples)
    assert sum(s < found for s in samples) * 100 < percent * len(samples)


# --- the figures -------------------------------------------------------------------------------

RESOLVED_SEV1 = incident(
    timedelta(days=3), severity="sev1", status="resolved", ack=4, mitigated=30, resolved=90,
    updated=25, retro=41,
)  # fmt: skip
CLOSED_SEV2 = incident(
    timedelta(days=10), severity="sev2", status="closed", ack=10, mitigated=60, resolved=120,
    updated=50, report_done=True,
)  # fmt: skip
RESOLVED_SEV3 = incident(
    timedelta(days=20), status="resolved", ack=2, resolved=240,
    nudges=("update@2026-11-04T16:00:00Z",),
)  # fmt: skip
OPEN_OVERDUE = incident(minutes(90), severity="sev2", ack=20, updated=10)  # due 60m after: late
OPEN_ON_TIME = incident(minutes(45), status="mitigated", ack=1, mitigated=40)  # 4h cadence
OLD = incident(timedelta(days=200), severity="sev1", status="closed", ack=100, resolved=300)
ALL = [RESOLVED_SEV1, CLOSED_SEV2, RESOLVED_SEV3, OPEN_OVERDUE, OPEN_ON_TIME, OLD]


def test_figures_over_the_window() -> None:
    report = incident_figures(ALL, now=NOW, since=timedelta(days=90), config=CONFIG)

    assert report.incidents == 5  # OLD was declared before the window
    assert report.by_severity == {"sev1": 1, "sev2": 2, "sev3": 2, "sev4": 0}
    # acknowledged after 4, 10, 2, 20, 1 minutes
    assert report.to_acknowledge.samples == 5
    assert report.to_acknowledge.median == minutes(4)
    assert report.to_acknowledge.p90 == minutes(20)
    # mitigated after 30, 60, 40 minutes
    assert (report.to_mitigate.samples, report.to_mitigate.median) == (3, minutes(40))
    assert report.to_mitigate.p90 == minutes(60)
    # resolved after 90, 120, 240 minutes
    assert (report.to_resolve.median, report.to_resolve.p90) == (minutes(120), minutes(240))
    assert report.with_an_update == 3
    assert report.reminded_to_update == 1
    assert report.updates_overdue == 1
    assert report.cadence_kept == 3  # all but the reminded one and the overdue one
    assert report.retrospectives_outstanding == 1  # the resolved sev1; sev2's report is done
    assert report.open_incidents == 2
    assert report.open_by_status == {"investigating": 1, "identified": 0, "mitigated": 1}


def test_every_incident_without_a_window() -> None:
    report = incident_figures(ALL, now=NOW, since=None, config=CONFIG)

    assert report.incidents == len(ALL)
    assert report.by_severity["sev1"] == 2
    assert report.to_resolve.samples == 4
    # OLD is closed, of a severity needing a retrospective, and its report is not done
    assert report.retrospectives_outstanding == 2


def test_the_window_edge_and_undated_incidents() -> None:
    edge = incident(timedelta(days=7))
    just_outside = incident(timedelta(days=7, seconds=1))
    undated = IncidentState(status=Status.CLOSED)

    within = incident_figures(
        [edge, just_outside, undated], now=NOW, since=timedelta(days=7), config=CONFIG
    )
    everything = incident_figures([edge, just_outside, undated], now=NOW, since=None, config=CONFIG)

    assert within.incidents == 1
    assert everything.incidents == 3
    assert everything.to_acknowledge.samples == 0
    assert everything.to_acknowledge.median is None


def test_a_severity_no_longer_configured_still_counts() -> None:
    report = incident_figures(
        [incident(minutes(5), severity="p0"), OPEN_ON_TIME], now=NOW, since=None, config=CONFIG
    )
    assert list(report.by_severity) == ["sev1", "sev2", "sev3", "sev4", "p0"]
    assert report.by_severity["p0"] == 1


def test_a_snoozed_update_is_not_overdue() -> None:
    snoozed = replace(OPEN_OVERDUE, snoozed_until=NOW + minutes(10))
    report = incident_figures([snoozed], now=NOW, since=None, config=CONFIG)
    assert report.updates_overdue == 0
    assert report.cadence_kept == 1


def test_json_shape() -> None:
    report = incident_figures(ALL, now=NOW, since=timedelta(days=90), config=CONFIG)
    data = json.loads(json.dumps(report.to_json()))

    assert data["now"] == "2026-11-24T12:00:00Z"
    assert data["since_seconds"] == 90 * 86400
    assert data["incidents"] == 5
    assert data["time_to_acknowledge"] == {
        "incidents": 5,
        "median_seconds": 240,
        "p90_seconds": 1200,
    }
    assert data["time_to_mitigate"]["median_seconds"] == 2400
    assert data["updates"] == {
        "with_an_update": 3,
        "reminded_to_update": 1,
        "cadence_kept": 3,
        "overdue_now": 1,
    }
    assert data["retrospectives_outstanding"] == 1
    assert data["open_by_status"] == {"investigating": 1, "identified": 0, "mitigated": 1}
    assert data["skipped"] == {"unverified": 0, "without_card": 0}
    empty = incident_figures([], now=NOW, since=None, config=CONFIG).to_json()
    assert empty["since_seconds"] is None
    assert empty["time_to_resolve"] == {"incidents": 0, "median_seconds": None, "p90_seconds": None}


def test_table_is_aligned_and_readable() -> None:
    report = incident_figures(ALL, now=NOW, since=timedelta(days=90), config=CONFIG)
    text = replace(report, repo="acme/web").table()
    lines = text.splitlines()

    assert (
        lines[0] == "Incidents in acme/web, declared in the last 90d (as of 2026-11-24 12:00 UTC)"
    )
    durations = [line.split("  ") for line in lines if line.startswith("Time to ")]
    assert [[cell.strip() for cell in row if cell] for row in durations] == [
        ["Time to acknowledge", "5", "4m", "20m"],
        ["Time to mitigate", "3", "40m", "1h"],
        ["Time to resolve", "3", "2h", "4h"],
    ]
    assert "Open with an update overdue now" in text and "1 of 2" in text
    width = len("Labelled issues without a card (skipped)")  # the longest label
    for line in filter(None, lines[2:]):
        assert line[width : width + 2] == "  ", line  # one label column for the whole table
    assert "Update cadence kept" in text and "3 of 5" in text
    assert "Retrospectives outstanding" in text
    for block in text.split("\n\n")[1:]:
        ends = {len(line) for line in block.splitlines() if not line.startswith("Configuration")}
        assert len(ends) == 1, block  # the numbers of a section end in one column


def test_window() -> None:
    assert window("90d") == timedelta(days=90)
    assert window("1w 2d") == timedelta(days=9)
    assert window("ALL") is None
    with pytest.raises(ValueError, match="not a duration"):
        window("a while")


STATES = st.builds(
    IncidentState,
    status=st.sampled_from(Status),
    severity=st.sampled_from(["sev1", "sev2", "sev3", "sev4", "other"]),
    declared_at=st.none()
    | st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    report_done=st.booleans(),
    nudges=st.sampled_from([(), ("update@2026-11-24T10:00:00Z",), ("no_ic",)]),
)


@given(st.lists(STATES, max_size=30), st.none() | st.integers(1, 400).map(timedelta))
def test_the_figures_add_up(states: list[IncidentState], since: timedelta | None) -> None:
    report = incident_figures(states, now=NOW, since=since, config=CONFIG)

    assert sum(report.by_severity.values()) == report.incidents <= len(states)
    assert sum(report.open_by_status.values()) == report.open_incidents
    if since is None:
        assert report.open_incidents == sum(1 for s in states if s.status in OPEN_STATUSES)
    missed = max(report.reminded_to_update, report.updates_overdue)
    assert report.cadence_kept <= report.incidents - missed
    assert report.cadence_kept + report.reminded_to_update + report.updates_overdue >= (
        report.incidents
    )
    assert report.retrospectives_outstanding <= report.incidents - report.open_incidents


@given(st.text(max_size=20))
def test_window_accepts_or_refuses_any_text(text: str) -> None:
    try:
        found = window(text)
    except ValueError as error:
        assert "duration" in str(error)
    else:
        assert found is None or found >= timedelta(0)


def test_the_documented_example_is_what_the_report_prints() -> None:
    documented = (Path(__file__).parents[1] / "docs" / "report.md").read_text()
    report = incident_figures(ALL, now=NOW, since=timedelta(days=90), config=CONFIG)
    table = replace(report, repo="acme/web", unverified=1).table()
    assert f"$ baton report --repo acme/web\n{table}\n```" in documented
