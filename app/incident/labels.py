"""The labels Baton keeps on an incident issue: one severity label, one status label, the
incident label; everything else on the issue is left as people set it.

The severity label is the severity's own name (`sev1`); the status label is `status:<status>`.
GitHub compares label names without regard to case, so this module does too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from app.incident.state import IncidentState, Status
from app.incident.words import render

if TYPE_CHECKING:
    from app.incident.config import Config

STATUS_PREFIX = "status:"

# Colours for the labels Baton creates on first use (hex, no '#'): severities run from red to
# yellow, statuses from "look at me" to "done".
LABEL_COLOURS: dict[str, str] = {
    "sev1": "b60205",
    "sev2": "d93f0b",
    "sev3": "fbca04",
    "sev4": "fef2c0",
    "status:investigating": "e99695",
    "status:identified": "f9d0c4",
    "status:mitigated": "c5def5",
    "status:resolved": "0e8a16",
    "status:closed": "cfd3d7",
    "incident": "d73a4a",
    "retrospective": "5319e7",
    "stale": "ededed",
    "incident-action-item": "1d76db",
}
# Configured severities beyond the defaults, after the default four, fade to this.
FALLBACK_SEVERITY_COLOUR = "fef2c0"
FALLBACK_COLOUR = "ededed"
_SEVERITY_RAMP = ("b60205", "d93f0b", "fbca04", "fef2c0")


def status_label(status: str) -> str:
    return f"{STATUS_PREFIX}{status}"


def status_from_label(name: str) -> Status | None:
    """`status:mitigated` -> `mitigated`; None for any other label."""
    folded = name.casefold()
    if not folded.startswith(STATUS_PREFIX):
        return None
    try:
        return Status(folded.removeprefix(STATUS_PREFIX))
    except ValueError:
        return None


def severity_from_label(name: str, config: Config) -> str | None:
    """The configured severity a label names, in its configured spelling; None otherwise."""
    folded = name.casefold()
    return next((s for s in config.severities if s.casefold() == folded), None)


def is_baton_label(name: str, config: Config) -> bool:
    """A severity or status label: Baton keeps exactly one of each."""
    return severity_from_label(name, config) is not None or status_from_label(name) is not None


def labels_for(state: IncidentState, current: Sequence[str], config: Config) -> tuple[str, ...]:
    """The issue's labels afterwards: exactly one severity label and one status label, the
    incident label kept, the stale label only while the incident is stale. Other labels keep
    their place; the severity and status labels take the place of the first label of their
    kind, or go at the end."""
    wanted = {
        "severity": state.severity,
        "status": status_label(state.status),
    }
    placed: set[str] = set()
    result: list[str] = []
    for name in current:
        kind = _kind(name, config)
        if kind is None:
            result.append(name)
        elif kind not in placed:
            placed.add(kind)
            result.append(wanted[kind])
    for kind in ("severity", "status"):
        if kind not in placed:
            result.append(wanted[kind])
    if not _contains(result, config.labels.incident):
        result.insert(0, config.labels.incident)
    if not state.stale:
        result = [name for name in result if name.casefold() != config.labels.stale.casefold()]
    elif not _contains(result, config.labels.stale):
        result.append(config.labels.stale)
    return tuple(_unique(result))


def _kind(name: str, config: Config) -> str | None:
    if severity_from_label(name, config) is not None:
        return "severity"
    if status_from_label(name) is not None:
        return "status"
    return None


def _contains(names: Iterable[str], wanted: str) -> bool:
    folded = wanted.casefold()
    return any(name.casefold() == folded for name in names)


def _unique(names: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    kept: list[str] = []
    for name in names:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return kept


def colour_for(name: str, config: Config | None = None) -> str:
    """The colour for a label Baton creates. With a config, configured names (a renamed
    incident label, custom severities) get the colour of the role they play."""
    known = LABEL_COLOURS.get(name.casefold())
    if known is not None:
        return known
    if config is None:
        return FALLBACK_COLOUR
    severity = severity_from_label(name, config)
    if severity is not None:
        rank = config.severities.index(severity)
        return _SEVERITY_RAMP[rank] if rank < len(_SEVERITY_RAMP) else FALLBACK_SEVERITY_COLOUR
    return LABEL_COLOURS.get(_default_name(name, config), FALLBACK_COLOUR)


def baton_labels(config: Config) -> tuple[str, ...]:
    """Every label Baton uses in a repository so configured: created as soon as Baton is
    installed, because GitHub drops an issue form's labels that the repository lacks."""
    return (
        config.labels.incident,
        *config.severities,
        *(status_label(status) for status in Status),
        config.labels.retrospective,
        config.labels.stale,
        config.labels.action,
    )


def description_for(name: str, config: Config | None = None) -> str:
    """The description of a label Baton creates: what the label means to Baton."""
    if status_from_label(name) is not None:
        role = "status"
    elif config is not None and severity_from_label(name, config) is not None:
        role = "severity"
    else:
        role = _default_name(name, config) if config is not None else name.casefold()
    return render("label_description.txt.j2", role=role, name=name).strip()


def _default_name(name: str, config: Config) -> str:
    """The default name of a configured Baton label (`incident` for a renamed incident label)."""
    roles = {
        "incident": config.labels.incident,
        "retrospective": config.labels.retrospective,
        "stale": config.labels.stale,
        "incident-action-item": config.labels.action,
    }
    return next(
        (
            default
            for default, configured in roles.items()
            if configured.casefold() == name.casefold()
        ),
        name,
    )
