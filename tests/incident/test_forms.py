"""Reading a submitted incident report form as GitHub renders it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from app.config import DEFAULTS
from app.incident.card import CARD_END, CARD_START
from app.incident.forms import (
    FORM_LABELS,
    NO_RESPONSE,
    IncidentForm,
    form_sections,
    read_incident_form,
    severity_in,
)

FORM_PATH = Path(__file__).resolve().parents[2] / "issue_templates" / "incident-report.yml"


def load_form() -> dict[str, Any]:
    form = yaml.safe_load(FORM_PATH.read_text(encoding="utf-8"))
    assert isinstance(form, dict)
    return form


FORM = load_form()
FIELDS = {element["id"]: element for element in FORM["body"] if "id" in element}


def rendered(answers: Mapping[str, str], newline: str = "\n") -> str:
    """A body as GitHub renders the submitted form: every field in order, `_No response_` for
    the ones left empty; markdown elements are not rendered."""
    sections = [
        f"### {element['attributes']['label']}\n\n{answers.get(field_id) or NO_RESPONSE}"
        for field_id, element in FIELDS.items()
    ]
    return "\n\n".join(sections).replace("\n", newline)


def severity_option(level: int) -> str:
    return str(FIELDS["severity"]["attributes"]["options"][level - 1])


def test_the_parser_looks_for_the_forms_own_labels() -> None:
    for field_id, label in FORM_LABELS.items():
        assert FIELDS[field_id]["attributes"]["label"] == label


def test_every_severity_option_reads_as_its_level() -> None:
    options = FIELDS["severity"]["attributes"]["options"]
    assert [severity_in(option) for option in options] == list(DEFAULTS.severities)


def test_the_dropdown_default_is_the_default_severity() -> None:
    attributes = FIELDS["severity"]["attributes"]
    assert severity_in(attributes["options"][attributes["default"]]) == DEFAULTS.default_severity


def test_reads_a_submitted_form() -> None:
    body = rendered(
        {
            "summary": "Checkout returns 502.\n\nOnly card payments.",
            "impact": "All EU customers",
            "started": "2026-11-24 14:05 UTC",
            "severity": severity_option(2),
            "links": "https://grafana.example.com/d/checkout",
        }
    )
    form = read_incident_form(body)
    assert form == IncidentForm(
        severity="sev2",
        impact="All EU customers",
        started="2026-11-24 14:05 UTC",
        summary="Checkout returns 502.\n\nOnly card payments.",
        fields=form.fields,
    )
    assert form.fields["Links"] == "https://grafana.example.com/d/checkout"
    assert form.fields["How to reach you"] == ""


def test_no_response_means_empty() -> None:
    form = read_incident_form(rendered({"summary": "Down", "impact": "Everyone"}))
    assert form.started is None
    assert form.severity is None
    assert form.summary == "Down"


def test_tolerates_crlf_and_extra_blank_lines() -> None:
    body = rendered({"summary": "Down", "impact": "Everyone", "severity": severity_option(1)})
    body = body.replace("\n\n", "\n\n\n\n")
    form = read_incident_form(body.replace("\n", "\r\n"))
    assert (form.summary, form.impact, form.severity) == ("Down", "Everyone", "sev1")


def test_missing_sections_are_none() -> None:
    form = read_incident_form("### Impact\n\nSearch is slow\n")
    assert form == IncidentForm(impact="Search is slow", fields={"Impact": "Search is slow"})


@pytest.mark.parametrize(
    "heading",
    ["### impact", "###   IMPACT  ", "### Impact ###", "### 🚨 Impact", "### Impact on users"],
)
def test_headings_the_user_edited_still_match(heading: str) -> None:
    assert read_incident_form(f"{heading}\n\nSearch is slow").impact == "Search is slow"


def test_an_exact_heading_wins_over_a_longer_one() -> None:
    body = "### Impact on the team\n\npager fatigue\n\n### Impact\n\nSearch is slow"
    assert read_incident_form(body).impact == "Search is slow"


def test_a_heading_that_only_shares_a_prefix_does_not_match() -> None:
    assert read_incident_form("### Impactful\n\nno").impact is None


def test_a_body_that_is_not_a_form_reads_as_nothing() -> None:
    body = "The site is down!!\n\n## Details\n\nSee https://status.example.com\n"
    assert read_incident_form(body) == IncidentForm()


def test_the_card_and_code_blocks_are_not_sections() -> None:
    card = f"{CARD_START}\n### Investigating · sev1\n\n**Summary:** x\n{CARD_END}"
    body = (
        f"{card}\n\n### Summary\n\nDown\n\n```\n### Impact\n\nnot a heading\n```\n\n"
        "### Impact\n\nEveryone"
    )
    form = read_incident_form(body)
    assert list(form.fields) == ["Summary", "Impact"]
    assert form.summary == "Down\n\n```\n### Impact\n\nnot a heading\n```"
    assert form.impact == "Everyone"


def test_a_repeated_heading_keeps_its_first_answer() -> None:
    assert form_sections("### Summary\n\nfirst\n### Summary\n\nsecond") == {"Summary": "first"}


@pytest.mark.parametrize(
    ("answer", "severity"),
    [("sev2", "sev2"), ("SEV 3", "sev3"), ("Sev-1 — Critical", "sev1"), ("sev10", "sev10")],
)
def test_severity_answers(answer: str, severity: str) -> None:
    assert severity_in(answer) == severity


@pytest.mark.parametrize("answer", ["Critical", "several", "sev", "sevx", "2"])
def test_answers_that_name_no_severity(answer: str) -> None:
    assert severity_in(answer) is None


@given(st.text())
def test_never_raises_on_any_text(body: str) -> None:
    form = read_incident_form(body)
    assert all(isinstance(value, str) for value in form.fields.values())


# An answer GitHub could render: lines that are neither headings nor fences.
answer_lines = st.text(
    alphabet=st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1
).filter(lambda line: not line.lstrip().startswith(("#", "`", "~", "<!--")))
answers = (
    st.lists(answer_lines, min_size=1, max_size=4)
    .map("\n".join)
    .filter(lambda answer: answer.strip() != NO_RESPONSE)
)


@given(summary=answers, impact=answers, level=st.integers(min_value=1, max_value=4))
def test_reads_back_what_was_submitted(summary: str, impact: str, level: int) -> None:
    form = read_incident_form(
        rendered({"summary": summary, "impact": impact, "severity": severity_option(level)})
    )
    assert form.summary == (summary.strip() or None)
    assert form.impact == (impact.strip() or None)
    assert form.severity == f"sev{level}"
