"""Read a submitted incident report form (`issue_templates/incident-report.yml`).

GitHub renders a submitted issue form as one section per field: a `### <Label>` heading, a
blank line, then the answer (`_No response_` when the field was left empty; a dropdown's
chosen option text). People edit the issue afterwards, so the reading is forgiving: headings
are matched loosely, missing sections are simply absent, and a body that is not a form at all
yields an empty reading rather than an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from app.incident.card import without_card
from app.incident.text import closes_fence, opening_fence

# The labels of the incident report form's fields, by field id. They must equal the form's own
# labels (a test reads the form to keep them in step).
FORM_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "summary": "Summary",
        "impact": "Impact",
        "started": "When did it start?",
        "severity": "Severity",
    }
)
NO_RESPONSE = "_No response_"

_HEADING = re.compile(r"^ {0,3}###[ \t]+(?P<label>.*?)(?:[ \t]+#+)?[ \t]*$")
_NOT_A_WORD = re.compile(r"[\W_]+")
# "sev2", "SEV 2", "Sev-2 — Major: …": the level the dropdown option starts with.
_SEVERITY = re.compile(r"^\W*sev[ \t-]?(?P<level>\d+)(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class IncidentForm:
    """What the reporter told us; None where they said nothing (or the body is no form)."""

    severity: str | None = None
    impact: str | None = None
    started: str | None = None
    summary: str | None = None
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def read_incident_form(body: str) -> IncidentForm:
    sections = form_sections(body)
    severity = _answer(sections, FORM_LABELS["severity"])
    return IncidentForm(
        severity=severity_in(severity) if severity else None,
        impact=_answer(sections, FORM_LABELS["impact"]),
        started=_answer(sections, FORM_LABELS["started"]),
        summary=_answer(sections, FORM_LABELS["summary"]),
        fields=MappingProxyType(sections),
    )


def form_sections(body: str) -> dict[str, str]:
    """Every `### heading` outside the card and outside code, with its answer ("" if none).

    A heading that appears twice keeps its first answer.
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    opener: str | None = None
    for line in _lines(without_card(body)):
        if opener is not None:
            opener = None if closes_fence(line, opener) else opener
        elif (heading := _HEADING.match(line)) is not None:
            label = heading["label"].strip()
            current = [] if label in sections else sections.setdefault(label, [])
            continue
        else:
            opener = opening_fence(line)
        if current is not None:
            current.append(line)
    return {label: _answer_text(lines) for label, lines in sections.items()}


def severity_in(answer: str) -> str | None:
    """`sevN` from a dropdown answer such as "sev2 — Major: …", else None."""
    match = _SEVERITY.match(answer)
    return f"sev{int(match['level'])}" if match else None


def _lines(body: str) -> list[str]:
    return body.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _answer_text(lines: list[str]) -> str:
    text = "\n".join(lines).strip()
    return "" if text == NO_RESPONSE else text


def _answer(sections: Mapping[str, str], label: str) -> str | None:
    """The answer under the heading that best matches `label`: the same words, else a heading
    that starts with the label's words ("Impact on users" for "Impact")."""
    wanted = _words(label)
    headings = {_words(heading): heading for heading in reversed(list(sections))}
    heading = headings.get(wanted) or next(
        (heading for heading in sections if _words(heading).startswith(wanted + " ")), None
    )
    return (sections[heading] or None) if heading is not None else None


def _words(text: str) -> str:
    return _NOT_A_WORD.sub(" ", text).strip().casefold()


__all__ = ["FORM_LABELS", "NO_RESPONSE", "IncidentForm", "form_sections", "read_incident_form"]
