"""Tests for `.github/baton.yml`: defaults, validation, layering, `_extends`, check-config."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import (
    CONFIG_PATH,
    DEFAULTS,
    MAX_DEPTH,
    MAX_EXTENDS,
    MAX_FILE_BYTES,
    MAX_REGIONS,
    MAX_SEVERITIES,
    MAX_VALUES,
    PERMISSIONS,
    RETROSPECTIVE_OPENINGS,
    SETTINGS,
    STATUSES,
    Config,
    ConfigProblem,
    ConfigSource,
    LoadResult,
    check_config_file,
    config_from_layers,
    configuration_table,
    extends_target,
    load_config,
    parse_document,
    parse_duration,
)
from app.handlers.work import NOTICE_PROBLEMS, config_notice
from app.incident.calendar import Region
from app.incident.retrospective import GITHUB_BODY_LIMIT

SPEC_EXAMPLE = """\
labels: {incident: incident, retrospective: retrospective, stale: stale}
severities: [sev1, sev2, sev3, sev4]
default_severity: sev3
responders: {permission: triage, teams: [acme/sre]}
escalation: {team: acme/incident-leads}
clocks:
  acknowledge_within: 15m
  escalate_after: 30m
  update_every: {sev1: 30m, sev2: 1h, sev3: 4h, sev4: 1d}
  handoff_reminder: 30m
  close_after_working_hours: 48
  stale_after_working_days: 5
retrospective: {open_on: resolved, required_for: [sev1, sev2]}
working_hours:
  # default: [{timezone: UTC, days: [mon, tue, wed, thu, fri], start: "00:00", end: "24:00"}]
  - {timezone: Europe/London, days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00", holidays: GB}
project:
  url: https://github.com/orgs/acme/projects/7
  status_field: Status
  status_map: {investigating: Investigating, identified: Investigating, mitigated: Mitigated, resolved: Resolved, closed: Done}
"""  # noqa: E501 - SPEC §7 verbatim

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
MINUTES = timedelta(minutes=1)
HOURS = timedelta(hours=1)


def load(text: str) -> tuple[Config, list[str]]:
    document, problem = parse_document(text, "baton.yml")
    assert problem is None, problem
    result = config_from_layers([document])
    return result.config, [str(item) for item in result.problems]


class FakeRepositories:
    """`fetch` over an in-memory set of files, recording what was asked for."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = dict(files)
        self.asked: list[str] = []

    async def fetch(self, owner: str, repo: str, path: str) -> str | None:
        address = f"{owner}/{repo}:{path}"
        self.asked.append(address)
        return self.files.get(address)


# --- defaults ----------------------------------------------------------------------------------


def test_defaults_are_the_values_of_spec_section_7() -> None:
    assert DEFAULTS.labels.incident == "incident"
    assert DEFAULTS.labels.retrospective == "retrospective"
    assert DEFAULTS.labels.stale == "stale"
    assert DEFAULTS.labels.action == "incident-action-item"
    assert DEFAULTS.labels.public == "public"
    assert DEFAULTS.severities == ("sev1", "sev2", "sev3", "sev4")
    assert DEFAULTS.default_severity == "sev3"
    assert DEFAULTS.responders.permission == "triage"
    assert DEFAULTS.responders.teams == ()
    assert DEFAULTS.escalation.team is None
    assert DEFAULTS.clocks.acknowledge_within == 15 * MINUTES
    assert DEFAULTS.clocks.escalate_after == 30 * MINUTES
    assert dict(DEFAULTS.clocks.update_every) == {
        "sev1": 30 * MINUTES,
        "sev2": HOURS,
        "sev3": 4 * HOURS,
        "sev4": timedelta(days=1),
    }
    assert DEFAULTS.clocks.handoff_reminder == 30 * MINUTES
    assert DEFAULTS.clocks.close_after_working_hours == 48
    assert DEFAULTS.clocks.stale_after_working_days == 5
    assert DEFAULTS.retrospective.open_on == "resolved"
    assert DEFAULTS.retrospective.required_for == ("sev1", "sev2")
    assert DEFAULTS.working_hours == (Region(),)
    assert DEFAULTS.working_hours[0].days == frozenset(range(5))
    assert DEFAULTS.project is None


@pytest.mark.parametrize("layers", [[], [{}], [{}, {}]])
def test_no_layers_and_empty_layers_give_the_defaults_without_problems(
    layers: list[dict[str, object]],
) -> None:
    result = config_from_layers(layers)
    assert result.config == DEFAULTS
    assert result.problems == ()


def test_spec_example_loads_without_problems() -> None:
    config, problems = load(SPEC_EXAMPLE)
    assert problems == []
    assert config.responders.teams == ("acme/sre",)
    assert config.escalation.team == "acme/incident-leads"
    assert config.working_hours == (
        Region(
            timezone="Europe/London",
            days=frozenset(range(5)),
            start_minute=9 * 60,
            end_minute=17 * 60,
            holidays="GB",
        ),
    )
    assert config.project is not None
    assert config.project.url == "https://github.com/orgs/acme/projects/7"
    assert config.project.status_field == "Status"
    assert config.project.status_map["closed"] == "Done"
    assert config.project.severity_field is None
    assert config.clocks == DEFAULTS.clocks


# --- durations ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", 30 * MINUTES),
        ("2h", 2 * HOURS),
        ("1d", timedelta(days=1)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", 90 * MINUTES),
        ("1h 30m", 90 * MINUTES),
        ("2W", timedelta(weeks=2)),
        (" 1d12h ", timedelta(days=1, hours=12)),
        ("1 hour 30 mins", 90 * MINUTES),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "1 hours later", "h", "30", "1m1h", "-5m", "1.5h", "٣m"])
def test_parse_duration_refuses_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration; use 30m, 2h, 1d$"):
        parse_duration(text)


def test_parse_duration_refuses_an_overflowing_duration() -> None:
    with pytest.raises(ValueError, match="too long a duration"):
        parse_duration("999999999w")


@given(
    st.fixed_dictionaries(
        {},
        optional={unit: st.integers(0, 10_000) for unit in ("days", "hours", "minutes", "seconds")},
    ).filter(bool)
)
def test_parse_duration_reads_any_combination_of_units(parts: dict[str, int]) -> None:
    text = "".join(
        f"{parts[unit]}{unit[0]}"
        for unit in ("days", "hours", "minutes", "seconds")
        if unit in parts
    )
    assert parse_duration(text) == timedelta(**parts)


@given(st.text(max_size=30))
def test_parse_duration_raises_only_value_error(text: str) -> None:
    try:
        assert parse_duration(text) >= timedelta(0)
    except ValueError as error:
        assert "duration" in str(error)


# --- validation messages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "clocks: {update_every: {sev2: an hour}}",
            'clocks.update_every.sev2: "an hour" is not a duration; use 30m, 2h, 1d',
        ),
        (
            "clocks: {acknowlege_within: 10m}",
            'clocks.acknowlege_within: unknown key; did you mean "acknowledge_within"?',
        ),
        (
            "colcks: {}",
            'colcks: unknown key; did you mean "clocks"?',
        ),
        (
            "clocks: {escalate_after: 0m}",
            'clocks.escalate_after: "0m" must be longer than zero; use 30m, 2h, 1d',
        ),
        (
            "clocks: {handoff_reminder: 30}",
            "clocks.handoff_reminder: 30 is not a duration; use 30m, 2h, 1d",
        ),
        (
            "clocks: {update_every: {sev5: 1h}}",
            "clocks.update_every.sev5: unknown severity; use one of sev1, sev2, sev3, sev4",
        ),
        (
            "clocks: {close_after_working_hours: soon}",
            'clocks.close_after_working_hours: "soon" is not a number; use e.g. 48',
        ),
        (
            "clocks: {close_after_working_hours: -1}",
            "clocks.close_after_working_hours: -1 must be more than zero; use e.g. 48",
        ),
        (
            "clocks: {stale_after_working_days: 2.5}",
            "clocks.stale_after_working_days: 2.5 is not a whole number above zero; use e.g. 5",
        ),
        (
            "clocks: 15m",
            'clocks: "15m" is not a mapping; use keys: acknowledge_within, '
            "escalate_after, update_every, handoff_reminder, "
            "close_after_working_hours, stale_after_working_days",
        ),
        (
            "default_severity: sev5",
            'default_severity: "sev5" is not a severity; use one of sev1, sev2, sev3, sev4',
        ),
        (
            "default_severity: critical",
            'default_severity: "critical" is not a severity; use one of sev1, sev2, sev3, sev4',
        ),
        (
            "severities: []",
            "severities: is empty; name at least one severity, most severe first",
        ),
        (
            "severities: [sev1, sev1]",
            "severities: sev1 appears twice; name each once",
        ),
        (
            "severities: sev1",
            'severities: "sev1" is not a list; use [a, b]',
        ),
        (
            "retrospective: {required_for: [sev1, P1]}",
            'retrospective.required_for: "P1" is not a severity; use one of sev1, sev2, sev3, sev4',
        ),
        (
            "retrospective: {open_on: never}",
            'retrospective.open_on: "never" is not a retrospective opening; use one '
            "of resolved, manual",
        ),
        (
            "responders: {permission: writer}",
            'responders.permission: "writer" is not a permission; did you mean "write"?',
        ),
        (
            "responders: {teams: [sre]}",
            'responders.teams: "sre" is not a team; use org/slug, e.g. acme/sre',
        ),
        (
            "responders: {teams: acme/sre}",
            'responders.teams: "acme/sre" is not a list; use [acme/sre]',
        ),
        (
            "escalation: {team: acme/}",
            'escalation.team: "acme/" is not a team; use org/slug, e.g. acme/sre',
        ),
        (
            "labels: {incident: ''}",
            'labels.incident: "" is not a name; use text such as incident',
        ),
        (
            "labels: {public: [status]}",
            "labels.public: a list is not a name; use text such as incident",
        ),
        (
            "labels: {stale: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}",
            'labels.stale: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" is too long; '
            "use at most 50 characters",
        ),
        (
            "working_hours: [{timezone: Europe/Londn}]",
            'working_hours[0].timezone: "Europe/Londn" is not a time zone; did you '
            'mean "Europe/London"?',
        ),
        (
            "working_hours: [{timezone: Nowhere}]",
            'working_hours[0].timezone: "Nowhere" is not a time zone; use an IANA '
            "name such as Europe/London",
        ),
        (
            "working_hours: [{days: [mon, funday]}]",
            'working_hours[0].days: "funday" is not a day; use one of mon, tue, wed, '
            "thu, fri, sat, sun",
        ),
        (
            "working_hours: [{days: [Tues]}]",
            'working_hours[0].days: "tues" is not a day; did you mean "tue"?',
        ),
        (
            "working_hours: [{days: []}]",
            "working_hours[0].days: a list is not a list of days; use [mon, tue, wed, thu, fri]",
        ),
        (
            "working_hours: [{start: '24:00'}]",
            'working_hours[0].start: "24:00" is not a time; use "HH:MM" from 00:00 to 23:59',
        ),
        (
            "working_hours: [{end: '17:60'}]",
            'working_hours[0].end: "17:60" is not a time; use "HH:MM" from 00:00 to 24:00',
        ),
        (
            "working_hours: [{end: 5pm}]",
            'working_hours[0].end: "5pm" is not a time; use "HH:MM" from 00:00 to 24:00',
        ),
        (
            "working_hours: [{holidays: XX}]",
            'working_hours[0].holidays: "XX" is not a country known to the holidays '
            "package; use a code such as GB, US",
        ),
        (
            "working_hours: [{holidays: GB, subdivision: ENGLAND}]",
            'working_hours[0].subdivision: "ENGLAND" is not a subdivision of GB; use '
            "one of ENG, NIR, SCT, WLS",
        ),
        (
            "working_hours: [{subdivision: ENG}]",
            "working_hours[0].subdivision: needs holidays (a country code) in the same region",
        ),
        (
            "working_hours: [{extra_holidays: [2026-02-30]}]",
            'working_hours[0].extra_holidays: "2026-02-30" is not a date; use '
            "YYYY-MM-DD, e.g. 2026-12-24",
        ),
        (
            "working_hours: [{timezone: UTC, hours: 8}]",
            "working_hours[0].hours: unknown key; use one of timezone, days, start, "
            "end, holidays, subdivision, extra_holidays",
        ),
        (
            "working_hours: [UTC]",
            'working_hours[0]: "UTC" is not a region; use {timezone: UTC, days: [mon, fri]}',
        ),
        (
            "working_hours: []",
            "working_hours: is empty; use [{timezone: UTC}]",
        ),
        (
            "working_hours: UTC",
            'working_hours: "UTC" is not a list of regions; use [{timezone: UTC}]',
        ),
        (
            "project: {url: 'https://github.com/acme/api/projects/7'}",
            'project.url: "https://github.com/acme/api/projects/7" is not a project '
            "URL; use https://github.com/orgs/OWNER/projects/N or "
            "https://github.com/users/OWNER/projects/N; no board is kept in step",
        ),
        (
            "project: {status_field: Status}",
            "project.url: is missing; add the board's URL, e.g. "
            "https://github.com/orgs/acme/projects/7",
        ),
        (
            "project: {url: 'https://github.com/orgs/acme/projects/7', status_map: {done: Done}}",
            "project.status_map.done: unknown status; use one of investigating, "
            "identified, mitigated, resolved, closed",
        ),
        (
            "project: {url: 'https://github.com/orgs/acme/projects/7', status_map: "
            "{resolve: Done}}",
            'project.status_map.resolve: unknown status; did you mean "resolved"?',
        ),
    ],
)
def test_each_problem_names_the_key_and_the_fix(yaml_text: str, expected: str) -> None:
    _, problems = load(yaml_text)
    assert problems == [expected]


def test_problem_without_a_path_renders_as_its_message() -> None:
    assert str(ConfigProblem("", "the whole file")) == "the whole file"


# --- fallback per key --------------------------------------------------------------------------


def test_a_broken_key_falls_back_to_its_own_default_and_valid_keys_still_apply() -> None:
    config, problems = load(
        """
        clocks:
          acknowledge_within: 5m
          update_every: {sev1: 10m, sev2: an hour}
        responders: {permission: boss, teams: [acme/sre]}
        working_hours:
          - {timezone: Mars/Base, days: [sat, sun], start: "10:00"}
        """.replace("        ", "")
    )
    assert len(problems) == 3
    assert config.clocks.acknowledge_within == 5 * MINUTES
    assert config.clocks.update_every["sev1"] == 10 * MINUTES
    assert config.clocks.update_every["sev2"] == DEFAULTS.clocks.update_every["sev2"]
    assert config.responders.permission == "triage"
    assert config.responders.teams == ("acme/sre",)
    assert config.working_hours == (
        Region(timezone="UTC", days=frozenset({5, 6}), start_minute=600),
    )


def test_a_broken_public_label_falls_back_to_public() -> None:
    config, problems = load("labels: {public: '', incident: outage}")
    assert (config.labels.public, config.labels.incident) == ("public", "outage")
    assert problems == ['labels.public: "" is not a name; use text such as incident']
    assert load("labels: {public: status-page}")[0].labels.public == "status-page"


def test_a_broken_region_is_skipped_and_no_valid_region_means_the_default() -> None:
    config, problems = load("working_hours: [42, {timezone: Asia/Tokyo}]")
    assert config.working_hours == (Region(timezone="Asia/Tokyo"),)
    assert problems == [
        "working_hours[0]: 42 is not a region; use {timezone: UTC, days: [mon, fri]}"
    ]
    config, _ = load("working_hours: [42]")
    assert config.working_hours == DEFAULTS.working_hours


def test_null_means_the_default() -> None:
    config, problems = load("labels: {incident: null}\nclocks:\nproject: null\n")
    assert problems == []
    assert config == DEFAULTS


def test_renamed_severities_take_the_defaults_of_the_same_rank() -> None:
    config, problems = load("severities: [P1, P2, P3, P4, P5]")
    assert problems == []
    assert config.default_severity == "P3"
    assert config.retrospective.required_for == ("P1", "P2")
    assert dict(config.clocks.update_every) == {
        "P1": 30 * MINUTES,
        "P2": HOURS,
        "P3": 4 * HOURS,
        "P4": timedelta(days=1),
        "P5": timedelta(days=1),
    }
    config, _ = load("severities: [high]")
    assert config.default_severity == "high"
    assert config.retrospective.required_for == ("high",)


def test_values_are_read_as_yaml_1_2_would() -> None:
    config, problems = load(
        "working_hours: [{timezone: Europe/Oslo, holidays: NO, start: 08:00, end: 16:30,"
        " extra_holidays: [2026-12-24, '2026-12-31']}]"
    )
    assert problems == []
    assert config.working_hours == (
        Region(
            timezone="Europe/Oslo",
            start_minute=8 * 60,
            end_minute=16 * 60 + 30,
            holidays="NO",
            extra_holidays=frozenset({date(2026, 12, 24), date(2026, 12, 31)}),
        ),
    )


def test_team_names_and_project_urls_are_normalised() -> None:
    config, problems = load(
        "responders: {teams: ['@acme/sre', acme/sre, acme/db-oncall]}\n"
        "project: {url: 'https://github.example.com/users/someone/projects/12/',"
        " severity_field: Sev}"
    )
    assert problems == []
    assert config.responders.teams == ("acme/sre", "acme/db-oncall")
    assert config.project is not None
    assert config.project.url == "https://github.example.com/users/someone/projects/12"
    assert config.project.severity_field == "Sev"
    assert dict(config.project.status_map) == dict(DEFAULTS_STATUS_MAP)


DEFAULTS_STATUS_MAP = {
    "investigating": "Investigating",
    "identified": "Investigating",
    "mitigated": "Mitigated",
    "resolved": "Resolved",
    "closed": "Done",
}


# --- whole-file problems -----------------------------------------------------------------------


def test_yaml_that_does_not_parse_names_the_line_and_column() -> None:
    document, problem = parse_document("labels:\n  incident: [unclosed\nclocks: {}\n", "baton.yml")
    assert document is None
    assert problem is not None
    assert problem.path == "baton.yml"
    assert re.match(
        r"YAML does not parse at line \d+, column \d+: .+; Baton uses the defaults", problem.message
    )


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text\n", "42\n"])
def test_a_top_level_that_is_not_a_mapping_is_one_problem(text: str) -> None:
    document, problem = parse_document(text, "baton.yml")
    assert document is None
    assert problem is not None
    assert "not a mapping of keys" in str(problem)


def test_an_empty_file_is_an_empty_layer() -> None:
    assert parse_document("# nothing yet\n", "baton.yml") == ({}, None)


def test_resolve_reports_a_layer_that_is_not_a_mapping_and_uses_the_others() -> None:
    result = config_from_layers([["sev1"], {"default_severity": "sev1"}], ["org.yml", "repo.yml"])
    assert result.config.default_severity == "sev1"
    assert [problem.path for problem in result.problems] == ["org.yml"]
    assert result.sources == ("org.yml", "repo.yml")


# --- layering ----------------------------------------------------------------------------------


async def test_repository_file_is_merged_over_the_organisation_file() -> None:
    github = FakeRepositories(
        {
            f"acme/.github:{CONFIG_PATH}": (
                "default_severity: sev2\n"
                "responders: {permission: write, teams: [acme/sre, acme/dba]}\n"
                "clocks: {update_every: {sev1: 15m}}\n"
            ),
            f"acme/api:{CONFIG_PATH}": (
                "responders: {teams: [acme/api-team]}\nclocks: {update_every: {sev2: 2h}}\n"
            ),
        }
    )
    result = await load_config(github.fetch, "acme", "api")
    assert result.problems == ()
    assert result.sources == (f"acme/.github:{CONFIG_PATH}", f"acme/api:{CONFIG_PATH}")
    config = result.config
    assert config.default_severity == "sev2"
    assert config.responders.permission == "write"
    assert config.responders.teams == ("acme/api-team",)  # lists replace
    assert config.clocks.update_every["sev1"] == 15 * MINUTES  # mappings merge
    assert config.clocks.update_every["sev2"] == 2 * HOURS


async def test_missing_files_are_not_problems() -> None:
    github = FakeRepositories({})
    result = await load_config(github.fetch, "acme", "api")
    assert result == config_from_layers([])
    assert sorted(github.asked) == [f"acme/.github:{CONFIG_PATH}", f"acme/api:{CONFIG_PATH}"]


async def test_a_broken_repository_file_leaves_the_organisation_file_in_force() -> None:
    github = FakeRepositories(
        {
            f"acme/.github:{CONFIG_PATH}": "default_severity: sev1\n",
            f"acme/api:{CONFIG_PATH}": "clocks: [\n",
        }
    )
    result = await load_config(github.fetch, "acme", "api")
    assert result.config.default_severity == "sev1"
    assert [problem.path for problem in result.problems] == [f"acme/api:{CONFIG_PATH}"]
    assert "line 2, column 1" in result.problems[0].message


async def test_the_organisation_repository_reads_its_file_once() -> None:
    github = FakeRepositories({f"acme/.github:{CONFIG_PATH}": "default_severity: sev4\n"})
    result = await load_config(github.fetch, "acme", ".github")
    assert result.config.default_severity == "sev4"
    assert github.asked == [f"acme/.github:{CONFIG_PATH}"]


async def test_a_failing_fetch_propagates() -> None:
    async def broken(owner: str, repo: str, path: str) -> str | None:
        raise ConnectionError("GitHub is down")

    with pytest.raises(ConnectionError):
        await load_config(broken, "acme", "api")


# --- _extends ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("shared-config", ConfigSource("acme", "shared-config", CONFIG_PATH)),
        ("other/.github", ConfigSource("other", ".github", CONFIG_PATH)),
        ("other/configs:baton/base.yaml", ConfigSource("other", "configs", "baton/base.yaml")),
    ],
)
def test_extends_targets(value: str, expected: ConfigSource) -> None:
    assert extends_target(value, "acme") == expected


@pytest.mark.parametrize("value", ["", "a b", "o/r:../secret.yml", "o/r:file.txt", "a/b/c", 7])
def test_extends_refuses_what_is_not_a_file(value: object) -> None:
    with pytest.raises(
        ValueError, match=re.escape("use other-repo, owner/repo or owner/repo:path/to/file.yml")
    ):
        extends_target(value, "acme")


async def test_extends_same_owner_is_the_layer_below() -> None:
    github = FakeRepositories(
        {
            f"acme/api:{CONFIG_PATH}": "_extends: shared\ndefault_severity: sev2\n",
            f"acme/shared:{CONFIG_PATH}": (
                "default_severity: sev1\nseverities: [sev1, sev2, sev3]\n"
            ),
        }
    )
    result = await load_config(github.fetch, "acme", "api")
    assert result.problems == ()
    assert result.config.severities == ("sev1", "sev2", "sev3")
    assert result.config.default_severity == "sev2"
    assert result.sources == (f"acme/shared:{CONFIG_PATH}", f"acme/api:{CONFIG_PATH}")


async def test_extends_cross_owner_with_a_path_sits_above_the_organisation_file() -> None:
    github = FakeRepositories(
        {
            f"acme/.github:{CONFIG_PATH}": "labels: {stale: org-stale, incident: org-incident}\n",
            f"acme/api:{CONFIG_PATH}": "_extends: corp/policies:baton/base.yml\n",
            "corp/policies:baton/base.yml": "labels: {stale: corp-stale}\n",
        }
    )
    result = await load_config(github.fetch, "acme", "api")
    assert result.problems == ()
    assert result.config.labels.stale == "corp-stale"
    assert result.config.labels.incident == "org-incident"
    assert result.sources == (
        f"acme/.github:{CONFIG_PATH}",
        "corp/policies:baton/base.yml",
        f"acme/api:{CONFIG_PATH}",
    )


async def test_extending_the_organisation_file_does_not_read_it_twice() -> None:
    github = FakeRepositories(
        {
            f"acme/.github:{CONFIG_PATH}": "default_severity: sev1\n",
            f"acme/api:{CONFIG_PATH}": "_extends: .github\n",
        }
    )
    result = await load_config(github.fetch, "acme", "api")
    assert result.sources == (f"acme/.github:{CONFIG_PATH}", f"acme/api:{CONFIG_PATH}")
    assert result.config.default_severity == "sev1"


async def test_extends_cycle_is_reported_and_broken() -> None:
    github = FakeRepositories(
        {
            f"acme/api:{CONFIG_PATH}": "_extends: a\n",
            f"acme/a:{CONFIG_PATH}": "_extends: b\ndefault_severity: sev1\n",
            f"acme/b:{CONFIG_PATH}": "_extends: acme/a\nseverities: [sev1, sev2]\n",
        }
    )
    result = await load_config(github.fetch, "acme", "api")
    assert [str(problem) for problem in result.problems] == [
        f"_extends: in acme/b:{CONFIG_PATH}: acme/a:{CONFIG_PATH} is already read (a cycle); "
        "the files below it are ignored"
    ]
    assert result.config.severities == ("sev1", "sev2")
    assert result.config.default_severity == "sev1"


async def test_extends_too_deep_stops_and_says_so() -> None:
    chain = {f"acme/r{level}:{CONFIG_PATH}": f"_extends: r{level + 1}\n" for level in range(10)}
    github = FakeRepositories(chain)
    result = await load_config(github.fetch, "acme", "r0")
    assert len(result.sources) == 4  # the file and 3 levels of _extends
    assert [problem.message for problem in result.problems] == [
        f"in acme/r3:{CONFIG_PATH}: more than 3 levels of _extends; acme/r4:{CONFIG_PATH} "
        "is not read; the files below it are ignored"
    ]


async def test_extends_a_missing_file_or_a_bad_value_is_a_problem() -> None:
    github = FakeRepositories(
        {
            f"acme/api:{CONFIG_PATH}": "_extends: gone\n",
            f"acme/.github:{CONFIG_PATH}": "_extends: 'not a repo'\n",
        }
    )
    result = await load_config(github.fetch, "acme", "api")
    assert [str(problem) for problem in result.problems] == [
        f'_extends: in acme/.github:{CONFIG_PATH}: "not a repo" is not a file to extend; '
        "use other-repo, owner/repo or owner/repo:path/to/file.yml; the files below it are ignored",
        f"_extends: in acme/api:{CONFIG_PATH}: acme/gone:{CONFIG_PATH} does not exist; "
        "the files below it are ignored",
    ]


# --- limits: what one file may cost ------------------------------------------------------------


def alias_bomb(levels: int) -> str:
    """Each anchor names the one before twice: a few lines that stand for 2**levels values."""
    lines = ["l0: &l0 {a: x, b: x}"]
    lines += [f"l{n}: &l{n} {{a: *l{n - 1}, b: *l{n - 1}}}" for n in range(1, levels)]
    return "\n".join([*lines, f"labels: *l{levels - 1}"]) + "\n"


def nested(levels: int) -> str:
    """A document nested `levels` deep, the top-level mapping being the first."""
    return "labels: " + "[" * (levels - 2) + "x" + "]" * (levels - 2) + "\n"


def test_an_alias_bomb_is_refused_without_being_expanded() -> None:
    started = time.process_time()
    document, problem = parse_document(alias_bomb(60), "baton.yml")
    assert time.process_time() - started < 1
    assert document is None
    assert str(problem) == (
        f"baton.yml: more than {MAX_VALUES:,} values, counting each use of an alias as a copy "
        "of what it names (line 12, column 6); Baton uses the defaults instead of this file"
    )


def test_aliases_within_the_limit_are_read() -> None:
    document, problem = parse_document(
        "base: &base {incident: incident, stale: stale}\nlabels: *base\n", "baton.yml"
    )
    assert problem is None and document is not None
    assert config_from_layers([document]).config.labels.stale == "stale"


async def test_two_files_that_would_grow_while_merging_fall_back_to_the_defaults() -> None:
    github = FakeRepositories(
        {
            f"acme/api:{CONFIG_PATH}": "_extends: base\n" + alias_bomb(16),
            f"acme/base:{CONFIG_PATH}": alias_bomb(16),
        }
    )
    started = time.process_time()
    result = await load_config(github.fetch, "acme", "api")
    assert time.process_time() - started < 2
    assert result.config == DEFAULTS
    assert [problem.path for problem in result.problems] == [f"acme/api:{CONFIG_PATH}"]
    assert f"more than {MAX_VALUES:,} values" in result.problems[0].message


async def test_an_alias_to_the_value_it_is_part_of_is_refused() -> None:
    github = FakeRepositories(
        {
            f"acme/.github:{CONFIG_PATH}": "labels: &loop {incident: *loop}\n",
            f"acme/api:{CONFIG_PATH}": "labels: &loop {incident: *loop}\n",
        }
    )
    result = await load_config(github.fetch, "acme", "api")
    assert result.config == DEFAULTS
    assert [str(problem) for problem in result.problems] == [
        f"acme/{repo}:{CONFIG_PATH}: an alias names the value it is part of (line 1, column 26); "
        "Baton uses the defaults instead of this file"
        for repo in (".github", "api")
    ]


def test_nesting_up_to_the_limit_is_read() -> None:
    document, problem = parse_document(nested(MAX_DEPTH), "baton.yml")
    assert problem is None and document is not None


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 5000])
def test_nesting_deeper_than_the_limit_is_refused(levels: int) -> None:
    started = time.process_time()
    document, problem = parse_document(nested(levels), "baton.yml")
    assert time.process_time() - started < 1
    assert document is None
    assert str(problem) == (
        f"baton.yml: nested more than {MAX_DEPTH} levels deep (line 1, column {MAX_DEPTH + 8}); "
        "Baton uses the defaults instead of this file"
    )


def test_a_file_over_the_size_limit_is_refused_as_a_whole() -> None:
    keys = "default_severity: sev1\n"
    at_limit = keys + "#" * (MAX_FILE_BYTES - len(keys) - 1) + "\n"
    assert parse_document(at_limit, "baton.yml") == ({"default_severity": "sev1"}, None)
    document, problem = parse_document(at_limit + "é", "baton.yml")  # é is two bytes
    assert document is None
    assert str(problem) == (
        f"baton.yml: the file is {MAX_FILE_BYTES + 2:,} bytes, more than the {MAX_FILE_BYTES:,} "
        "Baton reads; Baton uses the defaults instead of this file"
    )


HOSTILE_BUT_WITHIN_LIMITS = {
    "3,000 unknown keys": "".join(f"unknown_{n:05}: 1\n" for n in range(3000)),
    "3,000 severities and as many cadences": (
        f"severities: [{', '.join(f's{n}' for n in range(3000))}]\n"
        f"clocks: {{update_every: {{{', '.join(f'u{n}: 1h' for n in range(3000))}}}}}\n"
    ),
    "2,000 regions in no time zone": "working_hours:\n"
    + "".join(f"- {{timezone: Lond{n}}}\n" for n in range(2000)),
    "3,000 responder teams": f"responders: {{teams: [{', '.join(f'o/{n}' for n in range(3000))}]}}",
}


@pytest.mark.parametrize("text", HOSTILE_BUT_WITHIN_LIMITS.values(), ids=HOSTILE_BUT_WITHIN_LIMITS)
def test_a_file_within_the_limits_is_checked_in_linear_time(text: str) -> None:
    assert len(text.encode()) <= MAX_FILE_BYTES
    started = time.process_time()
    document, problem = parse_document(text, "baton.yml")
    assert problem is None and document is not None
    config_from_layers([document])
    assert time.process_time() - started < 3  # about 0.3 s; over 7 s when it was quadratic


def test_at_most_so_many_severities_and_regions() -> None:
    config, problems = load(
        f"severities: [{', '.join(f's{n}' for n in range(MAX_SEVERITIES + 1))}]\n"
        f"working_hours: [{', '.join(['{timezone: UTC}'] * (MAX_REGIONS + 1))}]\n"
    )
    assert config.severities == DEFAULTS.severities
    assert config.working_hours == DEFAULTS.working_hours
    assert problems == [
        f"severities: has {MAX_SEVERITIES + 1}; name at most {MAX_SEVERITIES}",
        f"working_hours: has {MAX_REGIONS + 1} regions; use at most {MAX_REGIONS}",
    ]


def test_a_long_unknown_key_is_named_in_short() -> None:
    _, problems = load(f"clocks:\n  ? {'x' * 5000}\n  : 1\n")  # a key as long as YAML allows
    clocks = "acknowledge_within, escalate_after, update_every, handoff_reminder, " + (
        "close_after_working_hours, stale_after_working_days"
    )
    assert problems == [f"clocks.{'x' * 40}…: unknown key; use one of {clocks}"]


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(0, 5000),
    path=st.text(max_size=400),
    message=st.text(max_size=2000),
    sources=st.lists(st.text(max_size=400), max_size=2 * (MAX_EXTENDS + 1)),
)
def test_the_notice_fits_in_a_comment_whatever_the_problems(
    count: int, path: str, message: str, sources: list[str]
) -> None:
    problems = (ConfigProblem(path, message),) * count
    notice = config_notice(LoadResult(DEFAULTS, problems, tuple(sources)))
    assert len(notice) <= GITHUB_BODY_LIMIT
    assert notice.count("\n- ") == min(count, NOTICE_PROBLEMS) + (count > NOTICE_PROBLEMS)
    if count > NOTICE_PROBLEMS:
        assert f"and {count - NOTICE_PROBLEMS} more problem" in notice


# --- check-config ------------------------------------------------------------------------------


def test_check_config_ok(tmp_path: Path) -> None:
    path = tmp_path / "baton.yml"
    path.write_text(SPEC_EXAMPLE, encoding="utf-8")
    code, text = check_config_file(str(path))
    assert code == 0
    assert text.splitlines()[0] == f"ok: {path}"
    assert "Europe/London mon,tue,wed,thu,fri 09:00-17:00 holidays GB" in text
    assert "https://github.com/orgs/acme/projects/7" in text


def test_check_config_lists_each_problem_on_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "baton.yml"
    path.write_text(
        "clocks: {update_every: {sev2: an hour}}\ndefault_severity: sev9\n_extends: a b\n"
    )
    code, text = check_config_file(str(path))
    assert code == 1
    assert text.splitlines() == [
        'default_severity: "sev9" is not a severity; use one of sev1, sev2, sev3, sev4',
        'clocks.update_every.sev2: "an hour" is not a duration; use 30m, 2h, 1d',
        '_extends: "a b" is not a file to extend; '
        "use other-repo, owner/repo or owner/repo:path/to/file.yml",
        f"{path}: 3 problems; Baton uses the defaults for these keys",
    ]


def test_check_config_unparsable_yaml_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "baton.yml"
    path.write_text("labels: {incident: x\n")
    code, text = check_config_file(str(path))
    assert code == 1
    assert text.startswith(f"{path}: YAML does not parse at line ")


def test_check_config_unreadable_file(tmp_path: Path) -> None:
    assert check_config_file(str(tmp_path / "absent.yml"))[0] == 2
    assert check_config_file(str(tmp_path))[0] == 2
    binary = tmp_path / "binary.yml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    code, text = check_config_file(str(binary))
    assert code == 2
    assert text.startswith(f"{binary}: cannot read:")


# --- config_from_layers never raises --------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats()
    | st.dates()
    | st.text(max_size=12)
    | st.sampled_from(
        ["sev1", "sev9", "30m", "1 hour", "09:00", "24:00", "GB", "ENG", "UTC", "mon", "acme/sre"]
    )
)
keys = st.sampled_from(
    [
        *{segment.removesuffix("[]") for setting in SETTINGS for segment in setting.key.split(".")},
        *STATUSES,
        "sev1",
        "sev2",
        "_extends",
    ]
) | st.text(max_size=8)
yamlish = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(yamlish, max_size=3))
def test_resolve_never_raises_and_always_gives_a_valid_config(layers: list[object]) -> None:
    result = config_from_layers(layers)
    config = result.config
    assert all(isinstance(problem, ConfigProblem) for problem in result.problems)
    assert config.severities and len(set(config.severities)) == len(config.severities)
    assert config.default_severity in config.severities
    assert tuple(config.clocks.update_every) == config.severities
    assert all(every > timedelta(0) for every in config.clocks.update_every.values())
    assert set(config.retrospective.required_for) <= set(config.severities)
    assert config.retrospective.open_on in RETROSPECTIVE_OPENINGS
    assert config.responders.permission in PERMISSIONS
    assert config.clocks.close_after_working_hours > 0
    assert config.clocks.stale_after_working_days > 0
    assert config.working_hours
    for region in config.working_hours:
        assert region.days and region.days <= set(range(7))
        assert 0 <= region.start_minute < 1440 and 0 <= region.end_minute <= 1440
    if config.project is not None:
        assert tuple(config.project.status_map) == STATUSES


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parse_document_never_raises(text: str) -> None:
    document, problem = parse_document(text, "baton.yml")
    assert (document is None) == (problem is not None)


ANCHORS = st.sampled_from(["a", "b", "c"])


def _flow(anchor: str | None, items: list[str], as_mapping: bool) -> str:
    text = (
        "{" + ", ".join(f"k{n}: {item}" for n, item in enumerate(items)) + "}"
        if as_mapping
        else "[" + ", ".join(items) + "]"
    )
    return f"&{anchor} {text}" if anchor else text


FLOW_YAML = st.recursive(
    st.sampled_from(["x", "1", "null"]) | ANCHORS.map(lambda name: f"*{name}"),
    lambda children: st.builds(
        _flow, st.none() | ANCHORS, st.lists(children, max_size=4), st.booleans()
    ),
    max_leaves=40,
).map(lambda node: f"labels: {node}\n")


def values_within_limits(value: object, depth: int = 1) -> int:
    """The values a document stands for, counted as the loader counts them."""
    assert depth <= MAX_DEPTH
    if isinstance(value, Mapping):
        pairs = [part for pair in value.items() for part in pair]
        return 1 + sum(values_within_limits(part, depth + 1) for part in pairs)
    if isinstance(value, list):
        return 1 + sum(values_within_limits(item, depth + 1) for item in value)
    return 1


@settings(max_examples=300, deadline=None)
@given(FLOW_YAML)
def test_anchors_and_aliases_never_raise_and_what_is_read_stays_within_the_limits(
    text: str,
) -> None:
    document, problem = parse_document(text, "baton.yml")
    assert (document is None) == (problem is not None)
    if document is not None:
        assert values_within_limits(document) <= MAX_VALUES
        config_from_layers([document, document])


# --- docs/configuration.md ---------------------------------------------------------------------


def test_the_docs_table_is_generated_from_the_settings() -> None:
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- baton:config-table:start -->\n", "\n<!-- baton:config-table:end -->"
    table = text[text.index(start) + len(start) : text.index(end)]
    assert table == configuration_table(), (
        "docs/configuration.md is out of date; paste the output of "
        "`python -c 'from app.config import configuration_table as t; print(t())'`"
    )
    for setting in SETTINGS:
        assert f"| `{setting.key}` |" in table


def test_every_setting_has_a_default_the_loader_accepts() -> None:
    document: dict[str, object] = {}
    for setting in SETTINGS:
        *sections, name = setting.key.split(".")
        if "[]" in setting.key or setting.key.startswith("project") or setting.default is None:
            continue
        place = document
        for section in sections:
            place = place.setdefault(section, {})  # type: ignore[assignment]
        place[name] = setting.default
    result = config_from_layers([document])
    assert result.problems == ()
    assert result.config == DEFAULTS
