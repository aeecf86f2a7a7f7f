"""The working-hours calendar: examples from the spec, DST, holidays, unions and properties."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.incident.calendar import Region, WorkingCalendar

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))

LONDON_OFFICE = Region(
    "Europe/London", start_minute=9 * 60, end_minute=17 * 60, holidays="GB", subdivision="ENG"
)
NEW_YORK_OFFICE = Region("America/New_York", start_minute=9 * 60, end_minute=17 * 60)
TOKYO_NIGHTS = Region("Asia/Tokyo", start_minute=22 * 60, end_minute=6 * 60, holidays="JP")

REGIONS = {
    "default": Region(),
    "london office": LONDON_OFFICE,
    "new york office": NEW_YORK_OFFICE,
    "tokyo nights": TOKYO_NIGHTS,
    "london every day": Region("Europe/London", days=EVERY_DAY),
    "weekend in sydney": Region(
        "Australia/Sydney", days=frozenset({5, 6}), start_minute=600, end_minute=660
    ),
}
CALENDARS = {
    name: WorkingCalendar(regions)
    for name, regions in {
        **{name: [region] for name, region in REGIONS.items()},
        "london and new york": [LONDON_OFFICE, NEW_YORK_OFFICE],
        "london, tokyo and sydney": [
            LONDON_OFFICE,
            TOKYO_NIGHTS,
            REGIONS["weekend in sydney"],
        ],
    }.items()
}


def london(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=LONDON)


DEFAULT_CALENDAR = WorkingCalendar([Region()])


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_default_counts_48_weekday_hours_from_thursday_noon_to_monday_noon() -> None:
    thursday_noon = utc(2026, 11, 26, 12)
    assert thursday_noon.weekday() == 3

    closes = DEFAULT_CALENDAR.add_working_hours(thursday_noon, 48)

    assert closes == utc(2026, 11, 30, 12)
    assert closes.tzinfo is UTC
    assert DEFAULT_CALENDAR.working_hours_between(thursday_noon, closes) == 48
    assert DEFAULT_CALENDAR.working_hours_between(thursday_noon, utc(2026, 11, 28)) == 36


def test_the_default_is_all_of_monday_to_friday_in_utc_and_nothing_else() -> None:
    saturday = utc(2026, 11, 28, 10)
    assert not DEFAULT_CALENDAR.is_working(saturday)
    assert DEFAULT_CALENDAR.is_working(utc(2026, 11, 27, 23, 59))
    assert WorkingCalendar([]).regions == (Region(),)


def test_adding_nothing_gives_the_start_even_outside_working_time() -> None:
    saturday = london(2026, 11, 28, 10)
    assert DEFAULT_CALENDAR.add_working_hours(saturday, 0) == saturday


def test_after_friday_office_hours_the_next_hour_is_on_monday_morning() -> None:
    calendar = CALENDARS["london office"]
    friday_evening = london(2026, 11, 27, 18)

    assert calendar.add_working_hours(friday_evening, 1) == london(2026, 11, 30, 10)
    assert calendar.add_working_hours(friday_evening, 8) == london(2026, 11, 30, 17)
    assert calendar.add_working_hours(friday_evening, 9) == london(2026, 12, 1, 10)


def test_easter_bank_holidays_are_skipped() -> None:
    calendar = CALENDARS["london office"]
    maundy_thursday = london(2026, 4, 2, 16)
    table = holidays.country_holidays("GB", subdiv="ENG", years=2026)
    assert {date(2026, 4, 3), date(2026, 4, 6)} <= set(table)  # Good Friday, Easter Monday

    assert calendar.add_working_hours(maundy_thursday, 2) == london(2026, 4, 7, 10)
    assert calendar.working_hours_between(london(2026, 4, 2), london(2026, 4, 9)) == 3 * 8
    assert not calendar.is_working(london(2026, 4, 6, 12))


def test_christmas_on_a_sunday_moves_its_holiday_to_tuesday() -> None:
    calendar = CALENDARS["london office"]
    table = holidays.country_holidays("GB", subdiv="ENG", years=2022)
    assert date(2022, 12, 25).weekday() == 6
    assert {date(2022, 12, 26), date(2022, 12, 27)} <= set(table)

    assert calendar.add_working_hours(london(2022, 12, 23, 16), 2) == london(2022, 12, 28, 10)


def test_holidays_follow_the_subdivision() -> None:
    second_of_january = london(2026, 1, 2, 12)
    assert second_of_january.weekday() == 4
    scotland = WorkingCalendar([Region("Europe/London", holidays="GB", subdivision="SCT")])
    england = WorkingCalendar([Region("Europe/London", holidays="GB", subdivision="ENG")])

    assert not scotland.is_working(second_of_january)
    assert england.is_working(second_of_january)


def test_extra_dates_are_holidays() -> None:
    black_friday = date(2026, 11, 27)
    calendar = WorkingCalendar([Region(extra_holidays=frozenset({black_friday}))])

    assert calendar.add_working_hours(utc(2026, 11, 26, 12), 48) == utc(2026, 12, 1, 12)
    assert not calendar.is_working(utc(2026, 11, 27, 12))


def test_a_night_shift_belongs_to_the_date_it_starts_on() -> None:
    calendar = CALENDARS["tokyo nights"]

    def tokyo(year: int, month: int, day: int, hour: int = 0) -> datetime:
        return datetime(year, month, day, hour, tzinfo=TOKYO)

    assert calendar.is_working(tokyo(2026, 11, 28, 5))  # Friday night's shift, on Saturday
    assert not calendar.is_working(tokyo(2026, 11, 29, 23))  # Sunday night
    assert calendar.working_hours_between(tokyo(2026, 11, 28), tokyo(2026, 11, 30)) == 6
    # Culture Day, Tuesday 3 November 2026: Tuesday's night is off, Monday's is not.
    assert calendar.is_working(tokyo(2026, 11, 3, 3))
    assert not calendar.is_working(tokyo(2026, 11, 3, 23))
    assert not calendar.is_working(tokyo(2026, 11, 4, 3))


def test_overlapping_regions_count_shared_hours_once() -> None:
    calendar = CALENDARS["london and new york"]
    wednesday = utc(2026, 11, 25)

    # London 09:00-17:00 UTC and New York 14:00-22:00 UTC: 09:00 to 22:00.
    assert calendar.working_hours_between(wednesday, wednesday + timedelta(days=1)) == 13
    assert calendar.add_working_hours(utc(2026, 11, 25, 21), 2) == utc(2026, 11, 26, 10)
    assert calendar.working_days_between(wednesday, wednesday + timedelta(days=1)) == 1


def test_overlap_follows_each_region_s_own_clock_changes() -> None:
    calendar = CALENDARS["london and new york"]
    tuesday = utc(2026, 3, 10)  # New York is on summer time, London is not yet

    # London 09:00-17:00 UTC and New York 13:00-21:00 UTC.
    assert calendar.working_hours_between(tuesday, tuesday + timedelta(days=1)) == 12


@pytest.mark.parametrize("clock_change", [date(2026, 3, 29), date(2026, 10, 25)])
def test_office_hours_last_eight_hours_on_the_days_the_clocks_change(clock_change: date) -> None:
    calendar = WorkingCalendar(
        [Region("Europe/London", days=EVERY_DAY, start_minute=540, end_minute=1020)]
    )
    day = london(clock_change.year, clock_change.month, clock_change.day)

    assert calendar.working_hours_between(day, day + timedelta(days=1)) == 8
    assert calendar.add_working_hours(day, 8) == london(
        clock_change.year, clock_change.month, clock_change.day, 17
    )


@pytest.mark.parametrize(
    ("clock_change", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)]
)
def test_a_whole_local_day_lasts_as_long_as_the_clocks_say(clock_change: date, hours: int) -> None:
    calendar = WorkingCalendar([Region("Europe/London", days=frozenset({6}))])
    midnight = london(clock_change.year, clock_change.month, clock_change.day)

    assert (
        calendar.working_hours_between(midnight - timedelta(days=1), midnight + timedelta(days=2))
        == hours
    )


def test_an_ambiguous_start_is_the_first_of_the_two_times() -> None:
    calendar = WorkingCalendar(
        [Region("Europe/London", days=EVERY_DAY, start_minute=90, end_minute=150)]
    )
    clocks_go_back = utc(2026, 10, 25)

    # 01:30 BST (00:30 UTC) to 02:30 GMT (02:30 UTC).
    assert calendar.working_hours_between(clocks_go_back, clocks_go_back + timedelta(days=1)) == 2


def test_working_days_are_counted_by_distinct_local_dates() -> None:
    monday = utc(2026, 11, 23)
    assert DEFAULT_CALENDAR.working_days_between(monday, monday + timedelta(days=7)) == 5
    assert DEFAULT_CALENDAR.working_days_between(monday, monday + timedelta(days=4, hours=1)) == 5
    assert DEFAULT_CALENDAR.working_days_between(monday, monday + timedelta(days=4)) == 4
    assert DEFAULT_CALENDAR.working_days_between(monday + timedelta(days=1), monday) == 0
    # Friday's Tokyo night shift reaches into Saturday morning and still counts once.
    nights = CALENDARS["tokyo nights"]
    saturday_tokyo = datetime(2026, 11, 28, tzinfo=TOKYO)
    assert nights.working_days_between(saturday_tokyo, saturday_tokyo + timedelta(days=2)) == 1
    # London and New York share their weekdays.
    both = CALENDARS["london and new york"]
    assert both.working_days_between(monday, monday + timedelta(days=14)) == 10


@pytest.mark.parametrize(
    ("region", "problem"),
    [
        (Region("Mars/Olympus_Mons"), "unknown time zone"),
        (Region("../etc"), "unknown time zone"),
        (Region(holidays="XX"), "unknown holidays"),
        (Region(holidays="GB", subdivision="ZZ"), "unknown holidays"),
        (Region(subdivision="ENG"), "needs a country"),
        (Region(days=frozenset()), "no working days"),
        (Region(days=frozenset({7})), "week days"),
        (Region(start_minute=1440), "start minute"),
        (Region(start_minute=-1), "start minute"),
        (Region(end_minute=1441), "end minute"),
    ],
)
def test_invalid_regions_are_refused_with_the_reason(region: Region, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        WorkingCalendar([region])


def test_naive_instants_and_negative_hours_are_refused() -> None:
    naive = datetime(2026, 11, 26, 12)
    aware = utc(2026, 11, 26, 12)
    with pytest.raises(ValueError, match="naive"):
        DEFAULT_CALENDAR.add_working_hours(naive, 1)
    with pytest.raises(ValueError, match="naive"):
        DEFAULT_CALENDAR.working_hours_between(aware, naive)
    with pytest.raises(ValueError, match="naive"):
        DEFAULT_CALENDAR.is_working(naive)
    with pytest.raises(ValueError, match="naive"):
        DEFAULT_CALENDAR.working_days_between(naive, aware)
    for hours in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="hours"):
            DEFAULT_CALENDAR.add_working_hours(aware, hours)


# Properties ----------------------------------------------------------------------------------

calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.__getitem__)
instants = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=st.sampled_from([UTC, LONDON, NEW_YORK, TOKYO]),
)
hours = st.floats(min_value=0, max_value=3000, allow_nan=False, allow_infinity=False)
MICROSECOND = timedelta(microseconds=1)
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)


@PROPERTY_SETTINGS
@given(calendars, instants, hours, hours)
def test_adding_more_hours_never_ends_earlier(
    calendar: WorkingCalendar, start: datetime, first: float, second: float
) -> None:
    fewer, more = sorted((first, second))
    assert calendar.add_working_hours(start, fewer) <= calendar.add_working_hours(start, more)


@PROPERTY_SETTINGS
@given(calendars, instants, hours, hours)
def test_adding_in_two_steps_is_adding_the_sum(
    calendar: WorkingCalendar, start: datetime, first: float, second: float
) -> None:
    in_steps = calendar.add_working_hours(calendar.add_working_hours(start, first), second)
    at_once = calendar.add_working_hours(start, first + second)
    assert abs(in_steps - at_once) <= MICROSECOND


@PROPERTY_SETTINGS
@given(calendars, instants, hours)
def test_the_hours_added_are_the_hours_between(
    calendar: WorkingCalendar, start: datetime, added: float
) -> None:
    end = calendar.add_working_hours(start, added)
    assert end >= start
    assert calendar.working_hours_between(start, end) == pytest.approx(added, abs=1e-6)


@PROPERTY_SETTINGS
@given(calendars, instants, instants, instants)
def test_hours_between_add_up_over_consecutive_spans(
    calendar: WorkingCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    first, middle, last = sorted((a, b, c))
    assert calendar.working_hours_between(first, middle) + calendar.working_hours_between(
        middle, last
    ) == pytest.approx(calendar.working_hours_between(first, last), abs=1e-6)
    assert calendar.working_hours_between(last, first) == 0


def _works_by_its_own_clock(region: Region, instant: datetime) -> bool:
    """Independent reading of a region's rule on local wall-clock time (away from DST changes)."""
    zone = ZoneInfo(region.timezone)
    local = instant.astimezone(zone).replace(tzinfo=None)
    table = (
        holidays.country_holidays(region.holidays, subdiv=region.subdivision)
        if region.holidays
        else {}
    )
    for days_ago in (0, 1):
        day = local.date() - timedelta(days=days_ago)
        if day.weekday() not in region.days or day in table or day in region.extra_holidays:
            continue
        midnight = datetime(day.year, day.month, day.day)
        starts = midnight + timedelta(minutes=region.start_minute)
        ends = midnight + timedelta(minutes=region.end_minute)
        if region.end_minute <= region.start_minute:
            ends += timedelta(days=1)
        if starts <= local < ends:
            return True
    return False


@PROPERTY_SETTINGS
@given(st.sampled_from(sorted(CALENDARS)), instants)
def test_working_time_is_any_region_working_by_its_own_clock(name: str, instant: datetime) -> None:
    calendar = CALENDARS[name]
    for region in calendar.regions:
        zone = ZoneInfo(region.timezone)
        window = timedelta(hours=30)
        assume(zone.utcoffset(instant - window) == zone.utcoffset(instant + window))
    expected = any(_works_by_its_own_clock(region, instant) for region in calendar.regions)
    assert calendar.is_working(instant) == expected


def test_year_long_spans_take_well_under_a_millisecond() -> None:
    calendar = CALENDARS["london and new york"]
    starts = [utc(2026, 1, 1) + timedelta(hours=37 * index) for index in range(200)]
    calendar.working_hours_between(utc(2025, 1, 1), utc(2029, 1, 1))  # build the years once

    began = time.perf_counter()
    for start in starts:
        calendar.working_hours_between(start, start + timedelta(days=365))
        calendar.add_working_hours(start, 3000)
        calendar.working_days_between(start, start + timedelta(days=365))
    average = (time.perf_counter() - began) / (3 * len(starts))

    assert average < 0.001
