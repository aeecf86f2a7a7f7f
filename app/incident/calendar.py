"""Working hours: when the clocks that count "working hours" run.

Pure: no I/O, no clock reads. "Now" is always a parameter.

A `WorkingCalendar` is the union of its regions' working time. Each region works, on each
local date that is one of its week days and not a holiday, from its start minute to its end
minute of local wall-clock time; an end at or before the start means the working day ends on
the next local date. A working day is identified by the local date it starts on: the week
day and holiday checks use that date.

Wall-clock times are turned into instants with `zoneinfo` and ``fold=0``: an ambiguous time
(clocks going back) is its first occurrence, and a nonexistent time (clocks going forward) is
read with the offset in force before the change, so it lands that much later. A 09:00-17:00
day therefore stays 8 hours long when the clocks change overnight, and a 00:00-24:00 day lasts
23 or 25 hours.

"N working days" is counted with `working_days_between`: the number of distinct local dates on
which some region has a working day with working time inside the span. Regions share dates:
a Monday worked in London and in New York is one working day. Working hours are not a
multiple of working days for a union of regions, so the two are counted separately.

Working time is built lazily one UTC year at a time: the regions' days are converted to
instants, merged into disjoint intervals and summed, so each query is a few binary searches.
Holiday tables are read from the `holidays` package once per country, subdivision and year.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_tables


@dataclass(frozen=True)
class Region:
    """One team's working week. Time counts as working when any region is working."""

    timezone: str = "UTC"
    days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    start_minute: int = 0  # minutes after local midnight
    end_minute: int = 1440  # <= start_minute means the working day ends on the next day
    holidays: str | None = None  # country code for the `holidays` package, e.g. "GB"
    subdivision: str | None = None
    extra_holidays: frozenset[date] = field(default_factory=frozenset)


MINUTES_PER_DAY = 1440
_MICROSECOND = timedelta(microseconds=1)
_MICROSECONDS_PER_HOUR = 3_600_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A local date's working day can start up to 14 hours before its UTC date (UTC+14) and end
# up to a day and 26 hours after it (crossing midnight at UTC-12, plus a DST hour): two
# dates of margin on each side of a UTC year cover every working day that touches it.
_MARGIN = timedelta(days=2)


def _micros(instant: datetime) -> int:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant.isoformat()}: a time zone is required")
    return (instant - _EPOCH) // _MICROSECOND


def _instant(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _year_of(micros: int) -> int:
    return _instant(micros).year


def _year_start(year: int) -> int:
    return _micros(datetime(year, 1, 1, tzinfo=UTC))


def _validated_zone(region: Region) -> ZoneInfo:
    try:
        return ZoneInfo(region.timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {region.timezone!r}") from error


def _validate(region: Region) -> None:
    if not region.days:
        raise ValueError(f"region {region.timezone}: no working days")
    if not all(0 <= day <= 6 for day in region.days):
        raise ValueError(f"region {region.timezone}: week days must be 0 (Monday) to 6 (Sunday)")
    if not 0 <= region.start_minute < MINUTES_PER_DAY:
        raise ValueError(f"region {region.timezone}: start minute must be 0 to 1439")
    if not 0 <= region.end_minute <= MINUTES_PER_DAY:
        raise ValueError(f"region {region.timezone}: end minute must be 0 to 1440")
    if region.subdivision is not None and region.holidays is None:
        raise ValueError(f"region {region.timezone}: a holiday subdivision needs a country")
    if region.holidays is not None:
        try:
            holiday_tables.country_holidays(region.holidays, subdiv=region.subdivision)
        except NotImplementedError as error:
            raise ValueError(f"region {region.timezone}: unknown holidays: {error}") from error


@dataclass(frozen=True)
class _RegionDays:
    """One region's working days that start within a UTC year, in order."""

    starts: list[int]
    ends: list[int]
    dates: list[date]


@dataclass(frozen=True)
class _WorkingYear:
    """The merged working intervals of one UTC year, clipped to it, with running totals."""

    starts: list[int]
    ends: list[int]
    worked_by_end: list[int]  # working microseconds in the year up to each interval's end
    region_days: tuple[_RegionDays, ...]

    @property
    def total(self) -> int:
        return self.worked_by_end[-1] if self.worked_by_end else 0

    def worked_until(self, micros: int) -> int:
        """Working microseconds from the start of the year to `micros` (within the year)."""
        index = bisect_right(self.starts, micros) - 1
        if index < 0:
            return 0
        overshoot = max(0, self.ends[index] - micros)
        return self.worked_by_end[index] - overshoot

    def instant_when_worked(self, worked: int) -> int:
        """The earliest instant by which `worked` (> 0, <= total) microseconds have passed."""
        index = bisect_left(self.worked_by_end, worked)
        return self.ends[index] - (self.worked_by_end[index] - worked)

    def working_interval_from(self, micros: int) -> int | None:
        """`micros` if working, else the next interval's start in this year, else None."""
        index = bisect_right(self.starts, micros) - 1
        if index >= 0 and micros < self.ends[index]:
            return micros
        return self.starts[index + 1] if index + 1 < len(self.starts) else None


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _dates(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)


class WorkingCalendar:
    """The union of the working time of some regions. All answers are in UTC."""

    def __init__(self, regions: Sequence[Region] = ()) -> None:
        self.regions: tuple[Region, ...] = tuple(regions) or (Region(),)
        for region in self.regions:
            _validate(region)
        self._zones = tuple(_validated_zone(region) for region in self.regions)
        self._years: dict[int, _WorkingYear] = {}
        self._holidays: dict[tuple[str, str | None, int], frozenset[date]] = {}

    def __repr__(self) -> str:
        return f"WorkingCalendar({list(self.regions)!r})"

    def is_working(self, instant: datetime) -> bool:
        micros = _micros(instant)
        return self._year(_year_of(micros)).working_interval_from(micros) == micros

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours in [start, end); 0 when end is not after start."""
        return self._worked_between(_micros(start), _micros(end)) / _MICROSECONDS_PER_HOUR

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The earliest instant at which `hours` working hours have passed since `start`.

        Adding 0 hours gives `start` itself (in UTC), even outside working time.
        """
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"working hours to add must be finite and >= 0, not {hours}")
        needed = round(hours * _MICROSECONDS_PER_HOUR)
        micros = _micros(start)
        if needed == 0:
            return _instant(micros)
        year = _year_of(micros)
        worked_before = self._year(year).worked_until(micros)
        while needed > self._year(year).total - worked_before:
            needed -= self._year(year).total - worked_before
            year += 1
            worked_before = 0
        return _instant(self._year(year).instant_when_worked(worked_before + needed))

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Distinct local dates whose working day (of any region) has working time in the span."""
        start_micros, end_micros = _micros(start), _micros(end)
        if end_micros <= start_micros:
            return 0
        dates: set[date] = set()
        # A working day belongs to the year it starts in, so one may reach in from the year before.
        for year in range(_year_of(start_micros) - 1, _year_of(end_micros) + 1):
            for days in self._year(year).region_days:
                first = bisect_right(days.ends, start_micros)
                last = bisect_left(days.starts, end_micros)
                dates.update(days.dates[first:last])
        return len(dates)

    def _worked_between(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        first_year, last_year = _year_of(start), _year_of(end)
        worked = self._year(last_year).worked_until(end) - self._year(first_year).worked_until(
            start
        )
        for year in range(first_year, last_year):
            worked += self._year(year).total
        return worked

    def _year(self, year: int) -> _WorkingYear:
        if year not in self._years:
            self._years[year] = self._build_year(year)
        return self._years[year]

    def _build_year(self, year: int) -> _WorkingYear:
        year_start, year_end = _year_start(year), _year_start(year + 1)
        region_days = tuple(
            self._region_days_around(index, year) for index in range(len(self.regions))
        )
        clipped = [
            (max(start, year_start), min(end, year_end))
            for days in region_days
            for start, end in zip(days.starts, days.ends, strict=True)
            if start < year_end and end > year_start
        ]
        merged = _merged(clipped)
        worked_by_end: list[int] = []
        for start, end in merged:
            worked_by_end.append((worked_by_end[-1] if worked_by_end else 0) + end - start)
        return _WorkingYear(
            starts=[start for start, _ in merged],
            ends=[end for _, end in merged],
            worked_by_end=worked_by_end,
            region_days=tuple(
                self._starting_within(days, year_start, year_end) for days in region_days
            ),
        )

    @staticmethod
    def _starting_within(days: _RegionDays, start: int, end: int) -> _RegionDays:
        first, last = bisect_left(days.starts, start), bisect_left(days.starts, end)
        return _RegionDays(days.starts[first:last], days.ends[first:last], days.dates[first:last])

    def _region_days_around(self, index: int, year: int) -> _RegionDays:
        """One region's working days on the local dates of a year and its margins, in order."""
        region, zone = self.regions[index], self._zones[index]
        crosses_midnight = region.end_minute <= region.start_minute
        days = _RegionDays([], [], [])
        first = date(year, 1, 1) - _MARGIN
        last = date(year, 12, 31) + _MARGIN
        for day in _dates(first, last):
            if day.weekday() not in region.days or self._is_holiday(region, day):
                continue
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            start = _micros(midnight + timedelta(minutes=region.start_minute))
            end_offset = timedelta(days=int(crosses_midnight), minutes=region.end_minute)
            end = _micros(midnight + end_offset)
            if start < end:
                days.starts.append(start)
                days.ends.append(end)
                days.dates.append(day)
        return days

    def _is_holiday(self, region: Region, day: date) -> bool:
        if day in region.extra_holidays:
            return True
        if region.holidays is None:
            return False
        key = (region.holidays, region.subdivision, day.year)
        if key not in self._holidays:
            table = holiday_tables.country_holidays(
                region.holidays, subdiv=region.subdivision, years=day.year
            )
            self._holidays[key] = frozenset(table.keys())
        return day in self._holidays[key]


@lru_cache(maxsize=64)
def calendar_for(regions: tuple[Region, ...]) -> WorkingCalendar:
    """One calendar per distinct working-hours setting: calendars cache their holiday tables."""
    return WorkingCalendar(regions)
