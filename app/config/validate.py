"""A merged document read into a `Config`, key by key: a broken key is reported with its path
and keeps its default, while the valid keys still apply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType
from typing import Final, TypeVar

from app.config.keys import DEFAULT_OF, DEFAULT_SEVERITIES, default_names, default_table, known_keys
from app.config.problems import ConfigProblem, did_you_mean, shorten, show
from app.config.values import (
    CHAT_MOMENTS,
    COUNTRY,
    DATES,
    DAYS,
    DURATION,
    END,
    NAME,
    OPTIONAL_NAME,
    OPTIONAL_TEAM,
    PERMISSION,
    PROJECT_URL,
    RETROSPECTIVE_OPENING,
    SEVERITIES,
    SEVERITY,
    SOME_SEVERITIES,
    START,
    SUBDIVISION,
    TEAMS,
    TIME_ZONE,
    WORKING_DAYS,
    WORKING_HOURS,
    Value,
)
from app.incident.calendar import Region
from app.incident.config import (
    Clocks,
    Config,
    Escalation,
    Labels,
    Notify,
    Project,
    Responders,
    Retrospective,
)
from app.incident.state import Status

T = TypeVar("T")
MAX_REGIONS: Final = 20


_UNSET: Final = object()


@dataclass(frozen=True)
class _Section:
    """One mapping of the document, with where it sits and where its defaults live."""

    path: str  # as reported: "clocks", "working_hours[0]"
    defaults: str  # as in SETTINGS: "clocks", "working_hours[]"
    values: Mapping[object, object]
    problems: list[ConfigProblem]

    def read(self, name: str, value: Value[T], default: object = _UNSET, **context: object) -> T:
        """The key's value; on a problem (recorded), the key's default. `context` is what the
        value's check depends on (the severities configured …)."""
        raw = self.values.get(name)
        if raw is not None:
            try:
                return value.parse(raw, **context)
            except ValueError as error:
                self.problems.append(ConfigProblem(_join(self.path, name), str(error)))
        if default is _UNSET:
            default = DEFAULT_OF[_join(self.defaults, name)]
        return value.parse(default, **context)

    def section(self, name: str) -> _Section:
        path, defaults = _join(self.path, name), _join(self.defaults, name)
        return _section(self.values.get(name), path, defaults, self.problems)


def _join(path: str, name: object) -> str:
    shown = shorten(str(name))
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
    names = known_keys(defaults) if known is None else known
    values: Mapping[object, object] = {}
    if isinstance(raw, Mapping):
        values = raw
        for name in raw:
            if name not in names:
                message = f"unknown {what}; {did_you_mean(name, names)}"
                problems.append(ConfigProblem(_join(path, name), message))
    elif raw is not None:
        problems.append(
            ConfigProblem(path, f"{show(raw)} is not a mapping; use keys: {', '.join(names)}")
        )
    return _Section(path, defaults, values, problems)


def _same_rank(default_name: str, severities: tuple[str, ...]) -> str:
    """A default that names a severity follows its rank when severities are renamed."""
    return severities[min(DEFAULT_SEVERITIES.index(default_name), len(severities) - 1)]


def read_config(document: Mapping[object, object], problems: list[ConfigProblem]) -> Config:
    top = _section(document, "", "", problems)
    severities = top.read("severities", SEVERITIES)
    default_severity = _same_rank(str(DEFAULT_OF["default_severity"]), severities)
    return Config(
        labels=_read_labels(top.section("labels")),
        severities=severities,
        default_severity=top.read(
            "default_severity", SEVERITY, default_severity, choices=severities
        ),
        responders=_read_responders(top.section("responders")),
        escalation=Escalation(team=top.section("escalation").read("team", OPTIONAL_TEAM)),
        clocks=_read_clocks(top.section("clocks"), severities),
        retrospective=_read_retrospective(top.section("retrospective"), severities),
        working_hours=_read_working_hours(top.values.get("working_hours"), problems),
        project=_read_project(top.values.get("project"), problems),
        notify=Notify(
            slack_events=top.section("notify").section("slack").read("events", CHAT_MOMENTS)
        ),
    )


def _read_labels(labels: _Section) -> Labels:
    return Labels(
        incident=labels.read("incident", NAME),
        retrospective=labels.read("retrospective", NAME),
        stale=labels.read("stale", NAME),
        action=labels.read("action", NAME),
        public=labels.read("public", NAME),
    )


def _read_responders(responders: _Section) -> Responders:
    return Responders(
        permission=responders.read("permission", PERMISSION),
        teams=responders.read("teams", TEAMS),
    )


def _read_clocks(clocks: _Section, severities: tuple[str, ...]) -> Clocks:
    return Clocks(
        acknowledge_within=clocks.read("acknowledge_within", DURATION),
        escalate_after=clocks.read("escalate_after", DURATION),
        update_every=_read_update_every(clocks, severities),
        handoff_reminder=clocks.read("handoff_reminder", DURATION),
        close_after_working_hours=clocks.read("close_after_working_hours", WORKING_HOURS),
        stale_after_working_days=clocks.read("stale_after_working_days", WORKING_DAYS),
    )


def _read_update_every(clocks: _Section, severities: tuple[str, ...]) -> Mapping[str, timedelta]:
    path = _join(clocks.path, "update_every")
    raw = clocks.values.get("update_every")
    cadence = _section(raw, path, path, clocks.problems, severities, "severity")
    defaults = default_table("clocks.update_every")
    return MappingProxyType(
        {
            severity: cadence.read(severity, DURATION, defaults[DEFAULT_SEVERITIES[min(rank, 3)]])
            for rank, severity in enumerate(severities)
        }
    )


def _read_retrospective(retrospective: _Section, severities: tuple[str, ...]) -> Retrospective:
    defaults = default_names("retrospective.required_for")
    required_for = list(dict.fromkeys(_same_rank(name, severities) for name in defaults))
    return Retrospective(
        open_on=retrospective.read("open_on", RETROSPECTIVE_OPENING),
        required_for=retrospective.read(
            "required_for",
            SOME_SEVERITIES,
            required_for,
            choices=severities,
            example=", ".join(severities[:2]),
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
                        f"{show(item)} is not a region; use {{timezone: UTC, days: [mon, fri]}}",
                    )
                )
    elif raw is not None:
        problems.append(
            ConfigProblem(
                "working_hours", f"{show(raw)} is not a list of regions; use [{{timezone: UTC}}]"
            )
        )
    if regions:
        return tuple(regions)
    defaults = DEFAULT_OF["working_hours"]
    assert isinstance(defaults, list)
    return tuple(_read_region(_section(item, "", "working_hours[]", [])) for item in defaults)


def _read_region(region: _Section) -> Region:
    timezone = region.read("timezone", TIME_ZONE)
    days = region.read("days", DAYS)
    start_minute = region.read("start", START)
    end_minute = region.read("end", END)
    country = region.read("holidays", COUNTRY)
    return Region(
        timezone=timezone,
        days=days,
        start_minute=start_minute,
        end_minute=end_minute,
        holidays=country,
        subdivision=region.read("subdivision", SUBDIVISION, country=country),
        extra_holidays=region.read("extra_holidays", DATES),
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
        url = PROJECT_URL.parse(project.values["url"])
    except ValueError as error:
        problems.append(ConfigProblem("project.url", f"{error}; no board is kept in step"))
        return None
    return Project(
        url=url,
        status_field=project.read("status_field", NAME),
        status_map=_read_status_map(project),
        severity_field=project.read("severity_field", OPTIONAL_NAME),
    )


def _read_status_map(project: _Section) -> Mapping[str, str]:
    path = _join(project.path, "status_map")
    raw = project.values.get("status_map")
    options = _section(raw, path, path, project.problems, tuple(Status), "status")
    defaults = default_table("project.status_map")
    return MappingProxyType(
        {status: options.read(status, NAME, defaults[status]) for status in tuple(Status)}
    )
