"""The keys of `.github/baton.yml`: the one source of truth for their names, defaults and
meanings. It feeds the validation, `baton check-config` and the table in docs/configuration.md
(`configuration_table`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import yaml

from app.incident.notices import MOMENTS


@dataclass(frozen=True)
class Setting:
    key: str  # a dotted path; "working_hours[].timezone" is a field of each region
    default: object  # spelled as in YAML; None means "not set"
    meaning: str


_REGION_SETTINGS: Final = (
    Setting("working_hours[].timezone", "UTC", "an IANA time zone, e.g. `Europe/London`"),
    Setting(
        "working_hours[].days",
        ["mon", "tue", "wed", "thu", "fri"],
        "working week days, from `mon` … `sun`",
    ),
    Setting("working_hours[].start", "00:00", "start of the working day, `HH:MM` local time"),
    Setting(
        "working_hours[].end",
        "24:00",
        "end of the working day, `HH:MM` (`24:00` is midnight); at or before the start, "
        "the day runs past midnight",
    ),
    Setting(
        "working_hours[].holidays",
        None,
        "public holidays of a country (`GB`, `US`, `DE` …) from the `holidays` package",
    ),
    Setting(
        "working_hours[].subdivision",
        None,
        "the country's subdivision for its holidays (`ENG`, `CA` …)",
    ),
    Setting("working_hours[].extra_holidays", [], "more days off, as dates (`2026-12-24`)"),
)


def _region_default() -> dict[str, object]:
    return {
        setting.key.removeprefix("working_hours[]."): setting.default
        for setting in _REGION_SETTINGS
        if setting.default not in (None, [])
    }


SETTINGS: Final[tuple[Setting, ...]] = (
    Setting("labels.incident", "incident", "the label that makes an issue an incident"),
    Setting("labels.retrospective", "retrospective", "the label of the retrospective issue"),
    Setting("labels.stale", "stale", "the label of an unresolved incident without activity"),
    Setting("labels.action", "incident-action-item", "the label of issues opened by `/action`"),
    Setting(
        "labels.public",
        "public",
        "the label of an incident shown on the public status page (docs/status-page.md)",
    ),
    Setting(
        "severities",
        ["sev1", "sev2", "sev3", "sev4"],
        "severity levels, most severe first; each is also a label",
    ),
    Setting("default_severity", "sev3", "the severity given on declaration when none is set"),
    Setting(
        "responders.permission",
        "triage",
        "the minimum repository permission of a responder: "
        "`read`, `triage`, `write`, `maintain` or `admin`",
    ),
    Setting("responders.teams", [], "teams (`org/slug`) whose members are responders too"),
    Setting(
        "escalation.team",
        None,
        "the team (`org/slug`) pinged when nobody takes the IC role or the incident "
        "is not resolved in time",
    ),
    Setting("clocks.acknowledge_within", "15m", "ping the escalation team when no IC by then"),
    Setting("clocks.escalate_after", "30m", "ping the escalation team when unresolved by then"),
    Setting(
        "clocks.update_every",
        {"sev1": "30m", "sev2": "1h", "sev3": "4h", "sev4": "1d"},
        "stakeholder update cadence per severity; remind the liaison when overdue",
    ),
    Setting("clocks.handoff_reminder", "30m", "remind both sides of an unanswered handoff"),
    Setting(
        "clocks.close_after_working_hours",
        48,
        "close a resolved incident after this many working hours without a community reply",
    ),
    Setting(
        "clocks.stale_after_working_days",
        5,
        "label an unresolved incident stale after this many working days without activity",
    ),
    Setting(
        "retrospective.open_on",
        "resolved",
        "`resolved`: open the retrospective issue on `/resolved`; `manual`: only on `/retro`",
    ),
    Setting(
        "retrospective.required_for",
        ["sev1", "sev2"],
        "severities whose retrospective issue must be closed before the incident closes",
    ),
    Setting(
        "working_hours",
        [_region_default()],
        "the working calendar: a list of regions; time is working when any region is working",
    ),
    *_REGION_SETTINGS,
    Setting(
        "project.url",
        None,
        "a GitHub project board kept in step, e.g. `https://github.com/orgs/acme/projects/7`; "
        "no board when unset",
    ),
    Setting("project.status_field", "Status", "the board's single-select field for the status"),
    Setting(
        "project.status_map",
        {
            "investigating": "Investigating",
            "identified": "Investigating",
            "mitigated": "Mitigated",
            "resolved": "Resolved",
            "closed": "Done",
        },
        "the option of the status field for each incident status",
    ),
    Setting("project.severity_field", None, "a single-select field kept at the severity, if any"),
    Setting(
        "notify.slack.events",
        [str(moment) for moment in MOMENTS],
        "the moments told to the Slack channel of `BATON_SLACK_WEBHOOK_URL` "
        "([notifications.md](notifications.md)); `[]` tells none",
    ),
)

DEFAULT_OF: Final = {setting.key: setting.default for setting in SETTINGS}


def default_names(key: str) -> list[str]:
    names = DEFAULT_OF[key]
    assert isinstance(names, list)
    return [str(name) for name in names]


def default_table(key: str) -> Mapping[str, str]:
    table = DEFAULT_OF[key]
    assert isinstance(table, Mapping)
    return {str(name): str(value) for name, value in table.items()}


DEFAULT_SEVERITIES: Final = tuple(default_names("severities"))
_TOP_LEVEL_EXTRAS: Final = ("_extends",)


def known_keys(section: str) -> tuple[str, ...]:
    """The keys a section may hold, in SETTINGS order ("" is the top level)."""
    prefix = f"{section}." if section else ""
    names = [
        setting.key.removeprefix(prefix).split(".")[0].removesuffix("[]")
        for setting in SETTINGS
        if setting.key.startswith(prefix)
    ]
    extras = _TOP_LEVEL_EXTRAS if not section else ()
    return tuple(dict.fromkeys([*names, *extras]))


# --- docs/configuration.md ---------------------------------------------------------------------


def configuration_table() -> str:
    """The Markdown table of every key, its default and its meaning (for the docs)."""
    rows = [
        f"| `{setting.key}` | {_shown_default(setting.default)} | {setting.meaning} |"
        for setting in SETTINGS
    ]
    return "\n".join(["| key | default | meaning |", "| --- | --- | --- |", *rows])


def _shown_default(default: object) -> str:
    if default is None:
        return "_unset_"
    if isinstance(default, str):
        return f"`{default}`"
    dumped = yaml.safe_dump(default, default_flow_style=True, sort_keys=False, width=10_000)
    return "`" + dumped.removesuffix("\n").removesuffix("...").strip() + "`"
