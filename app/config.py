"""Baton's configuration: `.github/baton.yml` (docs/configuration.md).

Built-in defaults < the organisation's `.github` repository's file < the repository's file,
each file optionally `_extends`-ing another one below it. Mappings merge key by key, lists
replace. Every key is validated on its own: a broken key falls back to its default and is
reported with its exact path and a fix, while the valid keys still apply.

`SETTINGS` is the one source of truth for keys, defaults and meanings: it feeds the loader,
`check-config` and the table in docs/configuration.md. I/O stays at the edge: `load_config`
is given a `fetch` function; everything else is pure.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays
import yaml

from app.incident import times
from app.incident.calendar import Region
from app.incident.state import Status
from app.incident.suggestions import closest

CONFIG_PATH: Final = ".github/baton.yml"
ORG_CONFIG_REPO: Final = ".github"
MAX_EXTENDS: Final = 3
# What one file may cost, so that a hostile file costs little (docs/configuration.md, Limits).
MAX_FILE_BYTES: Final = 64 * 1024
MAX_DEPTH: Final = 16  # levels of nesting, the top-level mapping being the first
MAX_VALUES: Final = 10_000  # scalars, lists and mappings, each use of an alias counted in full
MAX_SEVERITIES: Final = 20
MAX_REGIONS: Final = 20
PERMISSIONS: Final = ("read", "triage", "write", "maintain", "admin")
STATUSES: Final = tuple(Status)
RETROSPECTIVE_OPENINGS: Final = ("resolved", "manual")
DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LABEL_MAX_LENGTH: Final = 50  # GitHub's limit for a label name

T = TypeVar("T")
Fetch = Callable[[str, str, str], Awaitable[str | None]]


# --- the configuration as Baton uses it -------------------------------------------------


@dataclass(frozen=True)
class Labels:
    incident: str
    retrospective: str
    stale: str
    action: str


@dataclass(frozen=True)
class Responders:
    permission: str  # the minimum repository permission, one of PERMISSIONS
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
    open_on: str  # one of RETROSPECTIVE_OPENINGS
    required_for: tuple[str, ...]


@dataclass(frozen=True)
class Project:
    url: str
    status_field: str
    status_map: Mapping[str, str]  # one entry per status in STATUSES
    severity_field: str | None


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


@dataclass(frozen=True)
class ConfigProblem:
    path: str  # "clocks.update_every.sev2", or the file for a problem with the whole file
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True)
class LoadResult:
    config: Config
    problems: tuple[ConfigProblem, ...]
    sources: tuple[str, ...]  # the files that were merged, lowest priority first


# --- the keys: one source of truth ------------------------------------------------------


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
)

_DEFAULT_OF: Final = {setting.key: setting.default for setting in SETTINGS}


def _default_names(key: str) -> list[str]:
    names = _DEFAULT_OF[key]
    assert isinstance(names, list)
    return [str(name) for name in names]


def _default_table(key: str) -> Mapping[str, str]:
    table = _DEFAULT_OF[key]
    assert isinstance(table, Mapping)
    return {str(name): str(value) for name, value in table.items()}


_DEFAULT_SEVERITIES: Final = tuple(_default_names("severities"))
_TOP_LEVEL_EXTRAS: Final = ("_extends",)


def _known_keys(section: str) -> tuple[str, ...]:
    """The keys a section may hold, in SETTINGS order ("" is the top level)."""
    prefix = f"{section}." if section else ""
    names = [
        setting.key.removeprefix(prefix).split(".")[0].removesuffix("[]")
        for setting in SETTINGS
        if setting.key.startswith(prefix)
    ]
    extras = _TOP_LEVEL_EXTRAS if not section else ()
    return tuple(dict.fromkeys([*names, *extras]))


# --- small parsers: each returns the typed value or raises ValueError with a fix ----------


def _shorten(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def _show(raw: object) -> str:
    """A value as the user wrote it, short enough for a one-line problem."""
    if isinstance(raw, str):
        return json.dumps(_shorten(raw), ensure_ascii=False)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, Mapping):
        return "a mapping"
    if isinstance(raw, list | tuple):
        return "a list"
    return str(raw)[:40]


def _did_you_mean(name: object, known: Sequence[str], otherwise: str | None = None) -> str:
    """The one close match; else `otherwise`, or the whole list."""
    match = closest(str(name)[:100], known)
    if match is not None:
        return f'did you mean "{match}"?'
    return otherwise or f"use one of {', '.join(known)}"


_DURATION_HINT: Final = "use 30m, 2h, 1d"


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `1d`, `90s`, `1h30m`, `1 hour 30 min`: see `times.parse_duration`."""
    try:
        return times.parse_duration(text)
    except ValueError as error:
        raise ValueError(f"{_show(text)} {error}; {_DURATION_HINT}") from None


def _duration(raw: object) -> timedelta:
    if not isinstance(raw, str):
        raise ValueError(f"{_show(raw)} is not a duration; {_DURATION_HINT}")
    duration = parse_duration(raw)
    if duration <= timedelta(0):
        raise ValueError(f"{_show(raw)} must be longer than zero; {_DURATION_HINT}")
    return duration


def _name(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"{_show(raw)} is not a name; use text such as incident")
    if len(raw) > LABEL_MAX_LENGTH:
        raise ValueError(f"{_show(raw)} is too long; use at most {LABEL_MAX_LENGTH} characters")
    return raw.strip()


def _optional_name(raw: object) -> str | None:
    return None if raw is None else _name(raw)


def _names(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{_show(raw)} is not a list; use [a, b]")
    names = tuple(_name(item) for item in raw)
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise ValueError(f"{', '.join(duplicates)} appears twice; name each once")
    return names


def _severities(raw: object) -> tuple[str, ...]:
    if isinstance(raw, list) and len(raw) > MAX_SEVERITIES:
        raise ValueError(f"has {len(raw)}; name at most {MAX_SEVERITIES}")
    severities = _names(raw)
    if not severities:
        raise ValueError("is empty; name at least one severity, most severe first")
    return severities


def _one_of(choices: Sequence[str], what: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        if isinstance(raw, str) and raw in choices:
            return raw
        raise ValueError(f"{_show(raw)} is not {what}; {_did_you_mean(raw, choices)}")

    return parse


def _one_or_more_of(choices: Sequence[str], what: str) -> Callable[[object], tuple[str, ...]]:
    def parse(raw: object) -> tuple[str, ...]:
        if not isinstance(raw, list):
            raise ValueError(f"{_show(raw)} is not a list; use [{', '.join(choices[:2])}]")
        return tuple(dict.fromkeys(_one_of(choices, what)(item) for item in raw))

    return parse


_TEAM: Final = re.compile(r"@?([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([A-Za-z0-9][A-Za-z0-9_.-]*)")


def _team(raw: object) -> str:
    match = _TEAM.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise ValueError(f"{_show(raw)} is not a team; use org/slug, e.g. acme/sre")
    return f"{match[1]}/{match[2]}"


def _optional_team(raw: object) -> str | None:
    return None if raw is None else _team(raw)


def _teams(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise ValueError(f"{_show(raw)} is not a list; use [acme/sre]")
    return tuple(dict.fromkeys(_team(item) for item in raw))


def _positive_number(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueError(f"{_show(raw)} is not a number; use e.g. 48")
    if raw <= 0:
        raise ValueError(f"{_show(raw)} must be more than zero; use e.g. 48")
    return float(raw)


def _positive_whole_number(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise ValueError(f"{_show(raw)} is not a whole number above zero; use e.g. 5")
    return raw


def _minute_of_day(latest: str) -> Callable[[object], int]:
    def parse(raw: object) -> int:
        match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", raw) if isinstance(raw, str) else None
        if match is not None:
            minute = int(match[1]) * 60 + int(match[2])
            if int(match[2]) < 60 and minute <= _clock_minutes(latest):
                return minute
        raise ValueError(f'{_show(raw)} is not a time; use "HH:MM" from 00:00 to {latest}')

    return parse


def _clock_minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@functools.cache
def _time_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def _timezone(raw: object) -> str:
    if isinstance(raw, str):
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return raw
    hint = _did_you_mean(raw, _time_zones(), "use an IANA name such as Europe/London")
    raise ValueError(f"{_show(raw)} is not a time zone; {hint}")


def _days(raw: object) -> frozenset[int]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{_show(raw)} is not a list of days; use [mon, tue, wed, thu, fri]")
    day = _one_of(DAY_NAMES, "a day")
    return frozenset(
        DAY_NAMES.index(day(item.lower() if isinstance(item, str) else item)) for item in raw
    )


@functools.cache
def _holiday_countries() -> Mapping[str, Sequence[str]]:
    return MappingProxyType(dict(holidays.list_supported_countries()))


def _country(raw: object) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str) and raw.upper() in _holiday_countries():
        return raw.upper()
    raise ValueError(
        f"{_show(raw)} is not a country known to the holidays package; use a code such as GB, US"
    )


def _subdivision(country: str | None) -> Callable[[object], str | None]:
    def parse(raw: object) -> str | None:
        if raw is None:
            return None
        if country is None:
            raise ValueError("needs holidays (a country code) in the same region")
        known = _holiday_countries()[country]
        if isinstance(raw, str) and raw.upper() in known:
            return raw.upper()
        raise ValueError(
            f"{_show(raw)} is not a subdivision of {country}; use one of {', '.join(known)}"
        )

    return parse


def _dates(raw: object) -> frozenset[date]:
    if not isinstance(raw, list):
        raise ValueError(f"{_show(raw)} is not a list of dates; use [2026-12-24]")
    return frozenset(_date(item) for item in raw)


def _date(raw: object) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValueError(f"{_show(raw)} is not a date; use YYYY-MM-DD, e.g. 2026-12-24")


_PROJECT_URL: Final = re.compile(r"https?://[^/\s]+/(?:orgs|users)/[A-Za-z0-9-]+/projects/[0-9]+/?")


def _project_url(raw: object) -> str:
    if isinstance(raw, str) and _PROJECT_URL.fullmatch(raw):
        return raw.rstrip("/")
    raise ValueError(
        f"{_show(raw)} is not a project URL; use https://github.com/orgs/OWNER/projects/N "
        "or https://github.com/users/OWNER/projects/N"
    )


# --- reading a merged document ------------------------------------------------------------

_UNSET: Final = object()


@dataclass(frozen=True)
class _Section:
    """One mapping of the document, with where it sits and where its defaults live."""

    path: str  # as reported: "clocks", "working_hours[0]"
    defaults: str  # as in SETTINGS: "clocks", "working_hours[]"
    values: Mapping[object, object]
    problems: list[ConfigProblem]

    def read(self, name: str, parse: Callable[[object], T], default: object = _UNSET) -> T:
        """The key's value; on a problem (recorded), the key's default."""
        raw = self.values.get(name)
        if raw is not None:
            try:
                return parse(raw)
            except ValueError as error:
                self.problems.append(ConfigProblem(_join(self.path, name), str(error)))
        return parse(_DEFAULT_OF[_join(self.defaults, name)] if default is _UNSET else default)

    def section(self, name: str) -> _Section:
        path, defaults = _join(self.path, name), _join(self.defaults, name)
        return _section(self.values.get(name), path, defaults, self.problems)


def _join(path: str, name: object) -> str:
    shown = _shorten(str(name))
    return f"{path}.{shown}" if path else shown


def _section(
    raw: object,
    path: str,
    defaults: str,
    problems: list[ConfigProblem],
    known: Sequence[str] | None = None,
    what: str = "key",
) -> _Section:
    """A mapping's keys checked against the known ones; a non-mapping is reported and empty."""
    names = _known_keys(defaults) if known is None else known
    values: Mapping[object, object] = {}
    if isinstance(raw, Mapping):
        values = raw
        for name in raw:
            if name not in names:
                message = f"unknown {what}; {_did_you_mean(name, names)}"
                problems.append(ConfigProblem(_join(path, name), message))
    elif raw is not None:
        problems.append(
            ConfigProblem(path, f"{_show(raw)} is not a mapping; use keys: {', '.join(names)}")
        )
    return _Section(path, defaults, values, problems)


def _same_rank(default_name: str, severities: tuple[str, ...]) -> str:
    """A default that names a severity follows its rank when severities are renamed."""
    return severities[min(_DEFAULT_SEVERITIES.index(default_name), len(severities) - 1)]


def _read_config(document: Mapping[object, object], problems: list[ConfigProblem]) -> Config:
    top = _section(document, "", "", problems)
    severities = top.read("severities", _severities)
    default_severity = _same_rank(str(_DEFAULT_OF["default_severity"]), severities)
    return Config(
        labels=_read_labels(top.section("labels")),
        severities=severities,
        default_severity=top.read(
            "default_severity", _one_of(severities, "a severity"), default_severity
        ),
        responders=_read_responders(top.section("responders")),
        escalation=Escalation(team=top.section("escalation").read("team", _optional_team)),
        clocks=_read_clocks(top.section("clocks"), severities),
        retrospective=_read_retrospective(top.section("retrospective"), severities),
        working_hours=_read_working_hours(top.values.get("working_hours"), problems),
        project=_read_project(top.values.get("project"), problems),
    )


def _read_labels(labels: _Section) -> Labels:
    return Labels(
        incident=labels.read("incident", _name),
        retrospective=labels.read("retrospective", _name),
        stale=labels.read("stale", _name),
        action=labels.read("action", _name),
    )


def _read_responders(responders: _Section) -> Responders:
    return Responders(
        permission=responders.read("permission", _one_of(PERMISSIONS, "a permission")),
        teams=responders.read("teams", _teams),
    )


def _read_clocks(clocks: _Section, severities: tuple[str, ...]) -> Clocks:
    return Clocks(
        acknowledge_within=clocks.read("acknowledge_within", _duration),
        escalate_after=clocks.read("escalate_after", _duration),
        update_every=_read_update_every(clocks, severities),
        handoff_reminder=clocks.read("handoff_reminder", _duration),
        close_after_working_hours=clocks.read("close_after_working_hours", _positive_number),
        stale_after_working_days=clocks.read("stale_after_working_days", _positive_whole_number),
    )


def _read_update_every(clocks: _Section, severities: tuple[str, ...]) -> Mapping[str, timedelta]:
    path = _join(clocks.path, "update_every")
    raw = clocks.values.get("update_every")
    cadence = _section(raw, path, path, clocks.problems, severities, "severity")
    defaults = _default_table("clocks.update_every")
    return MappingProxyType(
        {
            severity: cadence.read(severity, _duration, defaults[_DEFAULT_SEVERITIES[min(rank, 3)]])
            for rank, severity in enumerate(severities)
        }
    )


def _read_retrospective(retrospective: _Section, severities: tuple[str, ...]) -> Retrospective:
    defaults = _default_names("retrospective.required_for")
    required_for = list(dict.fromkeys(_same_rank(name, severities) for name in defaults))
    return Retrospective(
        open_on=retrospective.read(
            "open_on", _one_of(RETROSPECTIVE_OPENINGS, "a retrospective opening")
        ),
        required_for=retrospective.read(
            "required_for", _one_or_more_of(severities, "a severity"), required_for
        ),
    )


def _read_working_hours(raw: object, problems: list[ConfigProblem]) -> tuple[Region, ...]:
    regions: list[Region] = []
    if raw == []:
        problems.append(ConfigProblem("working_hours", "is empty; use [{timezone: UTC}]"))
    if isinstance(raw, list) and len(raw) > MAX_REGIONS:
        message = f"has {len(raw)} regions; use at most {MAX_REGIONS}"
        problems.append(ConfigProblem("working_hours", message))
    elif isinstance(raw, list):
        for index, item in enumerate(raw):
            if isinstance(item, Mapping):
                region = _section(item, f"working_hours[{index}]", "working_hours[]", problems)
                regions.append(_read_region(region))
            else:
                problems.append(
                    ConfigProblem(
                        f"working_hours[{index}]",
                        f"{_show(item)} is not a region; use {{timezone: UTC, days: [mon, fri]}}",
                    )
                )
    elif raw is not None:
        problems.append(
            ConfigProblem(
                "working_hours", f"{_show(raw)} is not a list of regions; use [{{timezone: UTC}}]"
            )
        )
    if regions:
        return tuple(regions)
    defaults = _DEFAULT_OF["working_hours"]
    assert isinstance(defaults, list)
    return tuple(_read_region(_section(item, "", "working_hours[]", [])) for item in defaults)


def _read_region(region: _Section) -> Region:
    timezone = region.read("timezone", _timezone)
    days = region.read("days", _days)
    start_minute = region.read("start", _minute_of_day("23:59"))
    end_minute = region.read("end", _minute_of_day("24:00"))
    country = region.read("holidays", _country)
    return Region(
        timezone=timezone,
        days=days,
        start_minute=start_minute,
        end_minute=end_minute,
        holidays=country,
        subdivision=region.read("subdivision", _subdivision(country)),
        extra_holidays=region.read("extra_holidays", _dates),
    )


def _read_project(raw: object, problems: list[ConfigProblem]) -> Project | None:
    project = _section(raw, "project", "project", problems)
    if not project.values:
        return None
    if project.values.get("url") is None:
        problems.append(
            ConfigProblem(
                "project.url",
                "is missing; add the board's URL, e.g. https://github.com/orgs/acme/projects/7",
            )
        )
        return None
    try:
        url = _project_url(project.values["url"])
    except ValueError as error:
        problems.append(ConfigProblem("project.url", f"{error}; no board is kept in step"))
        return None
    return Project(
        url=url,
        status_field=project.read("status_field", _name),
        status_map=_read_status_map(project),
        severity_field=project.read("severity_field", _optional_name),
    )


def _read_status_map(project: _Section) -> Mapping[str, str]:
    path = _join(project.path, "status_map")
    raw = project.values.get("status_map")
    options = _section(raw, path, path, project.problems, STATUSES, "status")
    defaults = _default_table("project.status_map")
    return MappingProxyType(
        {status: options.read(status, _name, defaults[status]) for status in STATUSES}
    )


# --- layering -------------------------------------------------------------------------------


def _merge(lower: Mapping[object, object], upper: Mapping[object, object]) -> dict[object, object]:
    """Mappings merge key by key; anything else (lists too) in the upper layer replaces."""
    merged = dict(lower)
    for name, value in upper.items():
        below = merged.get(name)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            merged[name] = _merge(below, value)
        else:
            merged[name] = value
    return merged


def resolve(layers: Sequence[object], sources: Sequence[str] = ()) -> LoadResult:
    """The configuration from layers, lowest priority first, over the built-in defaults.

    Never raises: every problem is reported and the affected key keeps its default.
    A layer that is not a mapping is reported (named by its source when given) and skipped.
    """
    problems: list[ConfigProblem] = []
    merged: dict[object, object] = {}
    for index, layer in enumerate(layers):
        if isinstance(layer, Mapping):
            merged = _merge(merged, layer)
        else:
            source = sources[index] if index < len(sources) else f"layer {index + 1}"
            problems.append(ConfigProblem(source, _not_a_mapping(layer)))
    config = _read_config(merged, problems)
    return LoadResult(config, tuple(problems), tuple(sources))


_FILE_IGNORED: Final = "Baton uses the defaults instead of this file"


def _not_a_mapping(document: object) -> str:
    return (
        f"the top level is {_show(document)}, not a mapping of keys (labels:, clocks: …); "
        f"{_FILE_IGNORED}"
    )


DEFAULTS: Final[Config] = resolve(()).config


class _OverLimit(yaml.YAMLError):
    """A file that goes beyond what Baton reads, and where."""

    def __init__(self, reason: str, mark: yaml.Mark) -> None:
        super().__init__(reason)
        self.reason = reason
        self.mark = mark


class _ConfigLoader(yaml.SafeLoader):
    """YAML with 1.2-style scalars: `NO` stays Norway, `17:00` stays a time, `on` a word.

    Bounded while it is composed, before anything is built from it: at most MAX_DEPTH levels
    of nesting, and at most MAX_VALUES values counting each use of an alias as a copy of what it
    names, so that a few lines of anchors cannot stand for a billion values (or for themselves).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._values: dict[int, int] = {}  # id of a composed node: the values it stands for

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        is_alias = self.check_event(yaml.AliasEvent)
        mark = self.peek_event().start_mark
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _OverLimit(f"nested more than {MAX_DEPTH} levels deep", mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if node is not None:
            self._values[id(node)] = self._count(node, is_alias, mark)
        return node

    def _count(self, node: yaml.Node, is_alias: bool, mark: yaml.Mark) -> int:
        """The values a node stands for: its own and its children's, an alias's in full."""
        if not is_alias:
            values = 1 + sum(self._values[id(child)] for child in _children(node))
        elif id(node) in self._values:
            values = self._values[id(node)]
        else:  # the alias's node is still being composed
            raise _OverLimit("an alias names the value it is part of", mark)
        if values > MAX_VALUES:
            raise _OverLimit(
                f"more than {MAX_VALUES:,} values, counting each use of an alias as a copy of "
                "what it names",
                mark,
            )
        return values


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _timestamp_or_text(loader: _ConfigLoader, node: yaml.Node) -> object:
    """`2026-02-30` looks like a date but is not one: keep the text, the key reports it."""
    try:
        return loader.construct_yaml_timestamp(node)  # type: ignore[arg-type]
    except ValueError:
        return loader.construct_scalar(node)  # type: ignore[arg-type]


_ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)
_ConfigLoader.yaml_implicit_resolvers = {
    first: [
        (tag, pattern)
        for tag, pattern in resolvers
        if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)


def parse_document(
    text: str, source: str
) -> tuple[Mapping[object, object] | None, ConfigProblem | None]:
    """One file's YAML: its mapping (empty for an empty file), or None and the problem."""
    size = len(text.encode(errors="replace"))
    if size > MAX_FILE_BYTES:
        message = f"the file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} Baton reads"
        return None, ConfigProblem(source, f"{message}; {_FILE_IGNORED}")
    try:
        document = yaml.load(text, Loader=_ConfigLoader)
    except _OverLimit as error:
        where = f"line {error.mark.line + 1}, column {error.mark.column + 1}"
        return None, ConfigProblem(source, f"{error.reason} ({where}); {_FILE_IGNORED}")
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = error.problem or error.context or "invalid YAML"
        message = (
            f"YAML does not parse{where}: {reason}; Baton uses the defaults instead of this file"
        )
        return None, ConfigProblem(source, message)
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        message = f"YAML does not parse: {type(error).__name__}; {_FILE_IGNORED}"
        return None, ConfigProblem(source, message)
    if document is None:
        return {}, None
    if not isinstance(document, Mapping):
        return None, ConfigProblem(source, _not_a_mapping(document))
    return document, None


# --- loading from GitHub (I/O through `fetch`) ------------------------------------------------


@dataclass(frozen=True)
class ConfigSource:
    owner: str
    repo: str
    path: str = CONFIG_PATH

    def __str__(self) -> str:
        return f"{self.owner}/{self.repo}:{self.path}"


_EXTENDS: Final = re.compile(
    r"(?:(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/)?(?P<repo>[A-Za-z0-9._-]{1,100})"
    r"(?::(?P<path>[A-Za-z0-9._/-]+\.ya?ml))?"
)


def extends_target(raw: object, owner: str) -> ConfigSource:
    """`other-repo` (same owner), `owner/repo`, or `owner/repo:path/to/file.yml`."""
    match = _EXTENDS.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None or ".." in (match["path"] or "").split("/"):
        raise ValueError(
            f"{_show(raw)} is not a file to extend; use other-repo, owner/repo "
            "or owner/repo:path/to/file.yml"
        )
    return ConfigSource(match["owner"] or owner, match["repo"], match["path"] or CONFIG_PATH)


class Unreadable(Exception):
    """Raised by `fetch` for a file GitHub refuses to show Baton (403), as opposed to a file
    that is absent; the message says why, for the user."""


@dataclass(frozen=True)
class _Layer:
    source: ConfigSource
    document: Mapping[object, object]


async def _read_chain(
    fetch: Fetch, start: ConfigSource, problems: list[ConfigProblem]
) -> list[_Layer]:
    """A file and the files it `_extends`, lowest priority (the deepest) first."""
    chain: list[_Layer] = []
    source: ConfigSource | None = start
    while source is not None:
        try:
            text = await fetch(source.owner, source.repo, source.path)
        except Unreadable as reason:
            problems.append(ConfigProblem(str(source), f"Baton cannot read it: {reason}"))
            break
        if text is None:
            if chain:
                problems.append(_extends_problem(chain[0].source, f"{source} does not exist"))
            break
        document, problem = await asyncio.to_thread(parse_document, text, str(source))
        if document is None:
            problems.extend([problem] if problem else [])
            break
        chain.insert(0, _Layer(source, document))
        source = _next_in_chain(chain, problems)
    return chain


def _next_in_chain(chain: list[_Layer], problems: list[ConfigProblem]) -> ConfigSource | None:
    latest = chain[0]
    raw = latest.document.get("_extends")
    if raw is None:
        return None
    try:
        target = extends_target(raw, latest.source.owner)
    except ValueError as error:
        problems.append(_extends_problem(latest.source, str(error)))
        return None
    if any(layer.source == target for layer in chain):
        problems.append(_extends_problem(latest.source, f"{target} is already read (a cycle)"))
        return None
    if len(chain) > MAX_EXTENDS:
        reason = f"more than {MAX_EXTENDS} levels of _extends; {target} is not read"
        problems.append(_extends_problem(latest.source, reason))
        return None
    return target


def _extends_problem(source: ConfigSource, reason: str) -> ConfigProblem:
    return ConfigProblem("_extends", f"in {source}: {reason}; the files below it are ignored")


async def load_config(fetch: Fetch, owner: str, repo: str) -> LoadResult:
    """The repository's configuration: its file over the organisation's, over the defaults.

    `fetch(owner, repo, path)` returns a file's text from the default branch, or None when
    it is absent (not a problem); it raises Unreadable when GitHub refuses the file, which is
    a problem: the file's keys keep their defaults. Any other exception from `fetch`
    propagates. Parsing and checking run in a worker thread: even a file at the limits never
    holds up the event loop.
    """
    problems: list[ConfigProblem] = []
    org = ConfigSource(owner, ORG_CONFIG_REPO)
    org_chain = await _read_chain(fetch, org, problems)
    repo_chain: list[_Layer] = []
    if repo != ORG_CONFIG_REPO:
        repo_chain = await _read_chain(fetch, ConfigSource(owner, repo), problems)
    already_below = {layer.source for layer in repo_chain}
    layers = [layer for layer in org_chain if layer.source not in already_below] + repo_chain
    result = await asyncio.to_thread(
        resolve, [layer.document for layer in layers], [str(layer.source) for layer in layers]
    )
    return LoadResult(result.config, (*problems, *result.problems), result.sources)


# --- `baton check-config FILE` (and `--repo`) ---------------------------------------------------


def check_config_file(path: str) -> tuple[int, str]:
    """Exit code (0 ok, 1 problems, 2 unreadable) and the text to print."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return 2, f"{path}: cannot read: {error}"
    document, problem = parse_document(text, path)
    if document is None:
        return 1, str(problem)
    result = resolve([document], [path])
    problems = list(result.problems)
    extends = document.get("_extends")
    if extends is not None:
        try:
            extends_target(extends, "OWNER")
        except ValueError as error:
            problems.append(ConfigProblem("_extends", str(error)))
    return _verdict(path, problems, result.config)


def check_loaded(repo: str, loaded: LoadResult) -> tuple[int, str]:
    """`check_config_file`'s exit code and text for a repository's configuration as read from
    GitHub (`baton check-config --repo`), naming the files merged."""
    files = ", ".join(loaded.sources) or "no file: the defaults"
    return _verdict(repo, loaded.problems, loaded.config, f"{repo} ({files})")


def _verdict(
    name: str, problems: Sequence[ConfigProblem], config: Config, ok: str | None = None
) -> tuple[int, str]:
    if problems:
        lines = [str(item) for item in problems]
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        lines.append(f"{name}: {count}; Baton uses the defaults for these keys")
        return 1, "\n".join(lines)
    return 0, f"ok: {ok or name}\n{_summary(config)}"


def _summary(config: Config) -> str:
    project = config.project.url if config.project else "none"
    regions = "; ".join(_describe_region(region) for region in config.working_hours)
    return "\n".join(
        [
            f"severities: {', '.join(config.severities)} (default {config.default_severity})",
            f"responders: {config.responders.permission} or above"
            + "".join(f", @{team}" for team in config.responders.teams),
            f"working hours: {regions}",
            f"project board: {project}",
        ]
    )


def _describe_region(region: Region) -> str:
    days = ",".join(DAY_NAMES[day] for day in sorted(region.days))
    start, end = (
        f"{minute // 60:02d}:{minute % 60:02d}"
        for minute in (region.start_minute, region.end_minute)
    )
    holidays_of = f" holidays {region.holidays}" if region.holidays else ""
    return f"{region.timezone} {days} {start}-{end}{holidays_of}"


# --- docs/configuration.md --------------------------------------------------------------------


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
