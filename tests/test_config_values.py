"""Tests for the kinds of value configuration keys hold (app/config/values.py): each type's
constraints accept, convert and refuse, a refusal reads as a fix, and a refused key falls back
to its own default."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from app.config import DEFAULTS, SETTINGS, config_from_layers
from app.config.values import (
    COUNTRY,
    DATES,
    DAYS,
    DURATION,
    END,
    NAME,
    OPTIONAL_TEAM,
    PERMISSION,
    PROJECT_URL,
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

BOARD = "https://github.com/orgs/acme/projects/7"
TIME_ZONE_HINT = "use an IANA name such as Europe/London"
ACCEPTED: list[tuple[Value[Any], object, object]] = [
    (NAME, "  incident ", "incident"),
    (SEVERITIES, ["P1", "P2"], ("P1", "P2")),
    (TEAMS, ["@acme/sre", "acme/sre", "acme/db"], ("acme/sre", "acme/db")),
    (OPTIONAL_TEAM, None, None),
    (PERMISSION, "maintain", "maintain"),
    (DURATION, "1h30m", timedelta(minutes=90)),
    (WORKING_HOURS, 48, 48.0),
    (WORKING_HOURS, 0.5, 0.5),
    (WORKING_DAYS, 5, 5),
    (START, "9:05", 9 * 60 + 5),
    (END, "24:00", 24 * 60),
    (TIME_ZONE, "Asia/Tokyo", "Asia/Tokyo"),
    (DAYS, ["Mon", "sun", "mon"], frozenset({0, 6})),
    (COUNTRY, "gb", "GB"),
    (
        DATES,
        [date(2026, 12, 24), "2026-12-31"],
        frozenset({date(2026, 12, 24), date(2026, 12, 31)}),
    ),
    (
        PROJECT_URL,
        "https://github.com/orgs/acme/projects/7/",
        "https://github.com/orgs/acme/projects/7",
    ),
]


@pytest.mark.parametrize(("value", "raw", "expected"), ACCEPTED)
def test_an_accepted_value_is_converted_to_its_type(
    value: Value[Any], raw: object, expected: object
) -> None:
    assert value.parse(raw) == expected


REFUSED: list[tuple[Value[Any], object, str]] = [
    # strict types: text is not a number, a boolean is not a number, a number is not text
    (WORKING_HOURS, "48", '"48" is not a number; use e.g. 48'),
    (WORKING_HOURS, True, "true is not a number; use e.g. 48"),
    (WORKING_HOURS, float("inf"), "inf is not a number; use e.g. 48"),
    (WORKING_HOURS, float("nan"), "nan is not a number; use e.g. 48"),
    (WORKING_HOURS, 0, "0 must be more than zero; use e.g. 48"),
    (WORKING_DAYS, "5", '"5" is not a whole number above zero; use e.g. 5'),
    (WORKING_DAYS, 0, "0 is not a whole number above zero; use e.g. 5"),
    (NAME, 7, "7 is not a name; use text such as incident"),
    (NAME, "   ", '"   " is not a name; use text such as incident'),
    (NAME, "x" * 51, f'"{"x" * 40}…" is too long; use at most 50 characters'),
    # a list's refusal names the item that is wrong
    (SEVERITIES, ["sev1", 2], "2 is not a name; use text such as incident"),
    (SEVERITIES, ["sev1", "x" * 60], f'"{"x" * 40}…" is too long; use at most 50 characters'),
    (SEVERITIES, [f"s{n}" for n in range(21)], "has 21; name at most 20"),
    (TEAMS, ["acme/sre", "sre"], '"sre" is not a team; use org/slug, e.g. acme/sre'),
    (TEAMS, {"acme": "sre"}, "a mapping is not a list; use [acme/sre]"),
    (DATES, ["2026-12-24", "24/12"], '"24/12" is not a date; use YYYY-MM-DD, e.g. 2026-12-24'),
    (DATES, "2026-12-24", '"2026-12-24" is not a list of dates; use [2026-12-24]'),
    (DAYS, ["mon", 1], "1 is not a day; use one of mon, tue, wed, thu, fri, sat, sun"),
    (DURATION, "0s", '"0s" must be longer than zero; use 30m, 2h, 1d'),
    (DURATION, 30, "30 is not a duration; use 30m, 2h, 1d"),
    (START, "12:5", '"12:5" is not a time; use "HH:MM" from 00:00 to 23:59'),
    (END, "24:01", '"24:01" is not a time; use "HH:MM" from 00:00 to 24:00'),
    (TIME_ZONE, 3, f"3 is not a time zone; {TIME_ZONE_HINT}"),
    (TIME_ZONE, "../etc/passwd", f'"../etc/passwd" is not a time zone; {TIME_ZONE_HINT}'),
    (COUNTRY, ["GB"], "a list is not a country known to the holidays package; use a code such "
     "as GB, US"),
    (PERMISSION, "Admin", '"Admin" is not a permission; did you mean "admin"?'),
    (PROJECT_URL, f"{BOARD}\n", f'"{BOARD}\\n" is not a project URL; use '
     "https://github.com/orgs/OWNER/projects/N or https://github.com/users/OWNER/projects/N"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "raw", "message"), REFUSED)
def test_a_refused_value_says_what_to_write_instead(
    value: Value[Any], raw: object, message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        value.parse(raw)
    assert str(refused.value) == message


def test_choices_that_depend_on_other_keys_come_from_the_context() -> None:
    severities = ("P1", "P2", "P3")
    assert SEVERITY.parse("P2", choices=severities) == "P2"
    with pytest.raises(ValueError, match=r'^"sev2" is not a severity; use one of P1, P2, P3$'):
        SEVERITY.parse("sev2", choices=severities)
    assert SOME_SEVERITIES.parse(["P1", "P1", "P3"], choices=severities) == ("P1", "P3")
    with pytest.raises(ValueError, match=r'^"P1" is not a list; use \[P1, P2\]$'):
        SOME_SEVERITIES.parse("P1", choices=severities, example="P1, P2")
    assert SUBDIVISION.parse("eng", country="GB") == "ENG"
    with pytest.raises(ValueError, match="needs holidays"):
        SUBDIVISION.parse("ENG", country=None)


def _document(key: str, value: object) -> dict[str, object]:
    """A document that sets one dotted key; a region's key is set in the one region."""
    document: dict[str, Any] = {}
    sections = key.replace("[]", "").split(".")
    inner = document
    for section in sections[:-1]:
        inner[section] = {}
        inner = inner[section]
    inner[sections[-1]] = value
    if "working_hours" in document and "[]" in key:
        document["working_hours"] = [document["working_hours"]]
    return document


LEAF_KEYS = [
    setting.key
    for setting in SETTINGS
    if not any(s.key.startswith(f"{setting.key}.") for s in SETTINGS)
    and not setting.key.startswith("project.")
]


@pytest.mark.parametrize("key", LEAF_KEYS)
def test_every_key_refuses_a_wrong_value_by_its_path_and_keeps_its_default(key: str) -> None:
    is_mapping = isinstance(next(s.default for s in SETTINGS if s.key == key), dict)
    result = config_from_layers([_document(key, ["1h"] if is_mapping else {"not": "a value"})])
    assert [problem.path for problem in result.problems] == [key.replace("[]", "[0]")]
    assert result.config == DEFAULTS


def test_a_wrong_project_url_means_no_board() -> None:
    result = config_from_layers([{"project": {"url": 7, "status_field": "Status"}}])
    assert [problem.path for problem in result.problems] == ["project.url"]
    assert result.config.project is None
