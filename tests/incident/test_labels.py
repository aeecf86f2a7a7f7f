from __future__ import annotations

import re
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from app.config import DEFAULTS, Labels
from app.incident.labels import (
    LABEL_COLOURS,
    baton_labels,
    colour_for,
    description_for,
    is_baton_label,
    labels_for,
    severity_from_label,
    status_from_label,
)
from app.incident.state import IncidentState, Status

MITIGATED_SEV1 = IncidentState(status=Status.MITIGATED, severity="sev1")


def test_severity_and_status_labels_take_the_place_of_the_old_ones() -> None:
    current = ("bug", "sev3", "customer", "status:investigating", "incident")
    assert labels_for(MITIGATED_SEV1, current, DEFAULTS) == (
        "bug",
        "sev1",
        "customer",
        "status:mitigated",
        "incident",
    )


def test_missing_labels_are_added_and_the_incident_label_kept_first() -> None:
    assert labels_for(MITIGATED_SEV1, ("bug",), DEFAULTS) == (
        "incident",
        "bug",
        "sev1",
        "status:mitigated",
    )


def test_extra_severity_and_status_labels_are_dropped_whatever_their_case() -> None:
    current = ("Incident", "SEV2", "sev4", "Status:Resolved", "status:identified")
    assert labels_for(MITIGATED_SEV1, current, DEFAULTS) == ("Incident", "sev1", "status:mitigated")


def test_labels_for_is_stable_when_nothing_changes() -> None:
    current = ("incident", "sev1", "status:mitigated", "bug")
    assert labels_for(MITIGATED_SEV1, current, DEFAULTS) == current


def test_a_renamed_incident_label_is_the_one_kept() -> None:
    config = replace(DEFAULTS, labels=replace(DEFAULTS.labels, incident="outage"))
    assert labels_for(MITIGATED_SEV1, ("incident",), config) == (
        "outage",
        "incident",
        "sev1",
        "status:mitigated",
    )


def test_label_names_are_read_back() -> None:
    assert severity_from_label("SEV2", DEFAULTS) == "sev2"
    assert severity_from_label("sev9", DEFAULTS) is None
    assert status_from_label("status:Mitigated") == "mitigated"
    assert status_from_label("status:done") is None
    assert status_from_label("mitigated") is None
    assert is_baton_label("sev1", DEFAULTS)
    assert not is_baton_label("bug", DEFAULTS)


label_names = st.one_of(
    st.sampled_from(
        ["sev1", "SEV2", "sev3", "sev4", "incident", "bug", "p1", "status:nope", "STALE"]
    ),
    st.sampled_from([f"status:{s}" for s in Status]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
)


@given(
    current=st.lists(label_names, max_size=12),
    severity=st.sampled_from(DEFAULTS.severities),
    status=st.sampled_from(Status),
)
def test_exactly_one_severity_and_one_status_label_and_others_untouched(
    current: list[str], severity: str, status: Status
) -> None:
    state = IncidentState(status=status, severity=severity)
    result = labels_for(state, current, DEFAULTS)
    assert [n for n in result if severity_from_label(n, DEFAULTS)] == [severity]
    assert [n for n in result if status_from_label(n)] == [f"status:{status}"]
    assert any(n.casefold() == "incident" for n in result)
    stale = DEFAULTS.labels.stale.casefold()
    assert all(n.casefold() != stale for n in result), "the stale label stays only while stale"
    others = [n for n in current if not is_baton_label(n, DEFAULTS) and n.casefold() != stale]
    first_seen = list(dict.fromkeys(n.casefold() for n in others))
    assert [n.casefold() for n in result if not is_baton_label(n, DEFAULTS)] == (
        first_seen if "incident" in first_seen else ["incident", *first_seen]
    )
    assert labels_for(state, result, DEFAULTS) == result


def test_every_colour_is_six_hex_digits_and_severities_run_from_red() -> None:
    assert all(re.fullmatch(r"[0-9a-f]{6}", colour) for colour in LABEL_COLOURS.values())
    assert colour_for("sev1") == "b60205"
    assert colour_for("SEV1") == "b60205"
    assert colour_for("status:mitigated") == LABEL_COLOURS["status:mitigated"]
    assert colour_for("whatever") == "ededed"


def test_configured_names_get_the_colour_of_their_role() -> None:
    config = replace(
        DEFAULTS,
        severities=("critical", "major", "minor", "cosmetic", "trivial"),
        labels=Labels(
            incident="outage",
            retrospective="postmortem",
            stale="old",
            action="todo",
            public="public",
        ),
    )
    assert colour_for("critical", config) == LABEL_COLOURS["sev1"]
    assert colour_for("minor", config) == LABEL_COLOURS["sev3"]
    assert colour_for("trivial", config) == LABEL_COLOURS["sev4"]
    assert colour_for("outage", config) == LABEL_COLOURS["incident"]
    assert colour_for("postmortem", config) == LABEL_COLOURS["retrospective"]
    assert colour_for("todo", config) == LABEL_COLOURS["incident-action-item"]


def test_every_label_baton_creates_has_a_description_of_its_role_within_githubs_limit() -> None:
    config = replace(
        DEFAULTS,
        severities=("critical", "major"),
        labels=Labels(
            incident="outage",
            retrospective="postmortem",
            stale="old",
            action="todo",
            public="public",
        ),
    )
    for names in (baton_labels(DEFAULTS), baton_labels(config)):
        assert all(0 < len(description_for(name, config)) <= 100 for name in names)
    assert baton_labels(config)[:3] == ("outage", "critical", "major")
    assert description_for("outage", config) == description_for("incident")
    assert description_for("critical", config) == description_for("sev1")
    assert description_for("todo", config) == description_for("incident-action-item")
    assert description_for("bug") == ""
