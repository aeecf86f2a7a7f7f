"""The domain words people type, each read by one grammar: durations, `/note` times, logins,
and the "did you mean" guess for a mistyped word."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import parse_duration as config_duration
from app.incident.commands import COMMANDS, parse_comment
from app.incident.logins import is_account_name, is_login, same_login
from app.incident.records import snooze_length
from app.incident.state import SETTABLE_STATUSES, Status
from app.incident.suggestions import closest
from app.incident.times import (
    duration_at_start,
    is_clock_time,
    note_time,
    note_time_at_start,
    parse_duration,
)
from app.incident.turns import Refused

UNITS = {
    "weeks": ("w", "week", "weeks"),
    "days": ("d", "day", "days"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "seconds": ("s", "sec", "secs", "second", "seconds"),
}


@st.composite
def written_durations(draw: st.DrawFn) -> tuple[str, timedelta]:
    """A duration as someone may write it, largest unit first, and what it means."""
    units = draw(st.lists(st.sampled_from(list(UNITS)), min_size=1, unique=True))
    units.sort(key=list(UNITS).index)
    parts, total = [], timedelta()
    for unit in units:
        amount = draw(st.integers(0, 9_999))
        name = draw(st.sampled_from(UNITS[unit]))
        name = draw(st.sampled_from([name, name.upper(), name.capitalize()]))
        parts.append(f"{amount}{draw(st.sampled_from(['', ' ']))}{name}")
        total += timedelta(**{unit: amount})
    return draw(st.sampled_from(["", " "])).join(parts), total


@given(written_durations())
def test_a_written_duration_means_the_sum_of_its_parts(written: tuple[str, timedelta]) -> None:
    text, expected = written
    assert parse_duration(text) == expected
    assert config_duration(text) == expected


@given(written_durations(), st.sampled_from(["", " waiting for the vendor", "\tlater"]))
def test_the_command_reads_the_same_duration_and_keeps_the_rest(
    written: tuple[str, timedelta], rest: str
) -> None:
    text, expected = written
    found = duration_at_start(text + rest)
    assert found is not None
    short, after = found
    assert parse_duration(short) == expected
    assert after.strip() == rest.strip()


@given(st.text(max_size=30))
def test_any_text_is_a_duration_or_a_value_error(text: str) -> None:
    try:
        assert parse_duration(text) >= timedelta(0)
    except ValueError as error:
        assert "duration" in str(error)
    found = duration_at_start(text)
    if found is not None:
        assert parse_duration(found[0]) >= timedelta(0)


@given(st.text(max_size=30))
def test_a_snooze_is_positive_and_at_most_a_week_or_refused(text: str) -> None:
    try:
        length = snooze_length(text)
    except Refused:
        return
    assert timedelta(0) < length <= timedelta(days=7)


@pytest.mark.parametrize("text", ["1m1h", "2 months", "1.5h", "h", "30", "-5m", "2h3"])
def test_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


# --- /note times ---------------------------------------------------------------------------

ZONES = st.sampled_from(
    ["", "Z", " Z", " UTC", " GMT", "+01:00", " -0530", " Europe/Paris", " America/New_York"]
)


@st.composite
def written_note_times(draw: st.DrawFn) -> str:
    day = draw(st.none() | st.dates(min_value=datetime(2000, 1, 1).date()))
    hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
    second = draw(st.none() | st.integers(0, 59))
    clock = f"{hour:0{draw(st.sampled_from([1, 2]))}d}:{minute:02d}"
    clock += "" if second is None else f":{second:02d}"
    if day is not None:
        clock = f"{day.isoformat()}{draw(st.sampled_from([' ', 'T']))}{clock}"
    return clock + draw(ZONES)


@given(written_note_times(), st.datetimes(timezones=st.just(UTC)))
def test_a_written_note_time_is_found_and_read_or_refused_as_future(
    written: str, now: datetime
) -> None:
    found = note_time_at_start(f"{written} the cache is cold")
    assert found is not None
    token, rest = found
    assert token == " ".join(written.split())
    assert rest.strip() == "the cache is cold"
    assert is_clock_time(token)
    try:
        moment = note_time(token, now)
    except ValueError as error:
        assert "/note time" in str(error)
    else:
        assert moment <= now and moment.tzinfo is UTC


@given(st.text(max_size=40))
def test_a_note_s_text_starts_with_a_time_or_is_left_whole(text: str) -> None:
    found = note_time_at_start(text)
    if found is None:
        return
    token, rest = found
    assert text.lstrip().startswith(token.split()[0])
    assert text.endswith(rest)


def test_a_word_with_a_slash_after_the_time_is_not_a_zone() -> None:
    assert note_time_at_start("14:05 and/or later") == ("14:05", " and/or later")


# --- logins --------------------------------------------------------------------------------

logins = st.from_regex(r"\A[A-Za-z0-9](?:-?[A-Za-z0-9]){0,18}\Z")


@given(logins)
def test_a_login_is_a_login_and_an_account_name_whatever_its_case(login: str) -> None:
    assert is_login(login) and is_account_name(login)
    assert is_login(login.swapcase())
    assert same_login(login, login.swapcase())
    assert is_login(f"{login}[bot]") and not is_account_name(f"{login}[bot]")


@given(st.text(max_size=45))
def test_a_login_has_no_leading_trailing_or_double_hyphen(text: str) -> None:
    if is_login(text):
        name = text.removesuffix("[bot]")
        assert 1 <= len(name) <= 39
        assert not name.startswith("-") and not name.endswith("-") and "--" not in name
        assert all(c.isascii() and (c.isalnum() or c == "-") for c in name)


@given(logins, st.sampled_from(["/ic", "/handoff", "/liaison", "/sme"]))
def test_a_command_names_the_login_written(login: str, command: str) -> None:
    parsed = parse_comment(f"{command} @{login}")
    assert [c.user for c in parsed.commands] == [login]


@given(st.text(max_size=30))
def test_a_named_user_is_a_login_or_me(token: str) -> None:
    parsed = parse_comment(f"/handoff {token}")
    for command in parsed.commands:
        assert command.user is None or command.user == "me" or is_login(command.user)


# --- suggestions and statuses --------------------------------------------------------------

NAMES = [written for spec in COMMANDS for written in (spec.name, *spec.aliases)]


@given(st.sampled_from(NAMES), st.data())
def test_one_slip_in_a_long_name_is_recognised(name: str, data: st.DataObject) -> None:
    if len(name) < 4:
        return
    at = data.draw(st.integers(0, len(name) - 2))
    swapped = name[:at] + name[at + 1] + name[at] + name[at + 2 :]
    if swapped not in NAMES:
        assert closest(swapped, NAMES) == name


def test_a_tie_between_two_words_is_no_guess() -> None:
    assert closest("testc", ["testa", "testb"]) is None
    assert closest("Write", ["read", "write"]) == "write"


def test_a_status_is_its_word() -> None:
    assert [str(status) for status in Status] == [status.value for status in Status]
    assert Status("resolved") == "resolved" and f"{Status.RESOLVED}" == "resolved"
    assert [status.is_open for status in Status] == [True, True, True, False, False]
    assert Status.CLOSED not in SETTABLE_STATUSES
