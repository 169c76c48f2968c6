"""Working time: days off skipped, make-up Saturdays (调休) counted, lunch breaks left out,
and adding working time monotonic and additive (hypothesis over random holiday lists)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.duty.holidays import HolidayCalendar
from ivr.errors import ConfigError
from ivr.workflow.calendar import WorkCalendar, parse_hours

BEIJING = ZoneInfo("Asia/Shanghai")
# 2031: National Day off from Wed 1 to Tue 7 October, Sunday 28 September worked instead.
NATIONAL_DAY = HolidayCalendar(
    holidays=frozenset(date(2031, 10, 1) + timedelta(days=n) for n in range(7)),
    workdays=frozenset({date(2031, 9, 28), date(2031, 10, 11)}),
)
CAL = WorkCalendar(days=NATIONAL_DAY)
YEAR = (date(2031, 1, 1), date(2031, 12, 31))


def bj(day: date | str, hour: int, minute: int = 0) -> datetime:
    """An instant in Beijing time."""
    when = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(when, time(hour, minute), tzinfo=BEIJING)


def test_a_working_day_is_seven_hours_without_lunch() -> None:
    assert CAL.minutes_per_day == 420
    monday = bj("2031-03-03", 11, 30)
    assert CAL.add_working_minutes(monday, 30) == bj("2031-03-03", 12)
    assert CAL.add_working_minutes(monday, 31) == bj("2031-03-03", 13, 31)  # lunch skipped
    assert CAL.working_time_between(bj("2031-03-03", 8), bj("2031-03-03", 20)) == timedelta(hours=7)


def test_working_days_keep_the_time_of_day_and_skip_weekends() -> None:
    assert CAL.add_working_days(bj("2031-03-03", 10), 1) == bj("2031-03-04", 10)
    assert CAL.add_working_days(bj("2031-03-07", 16), 1) == bj("2031-03-10", 16)  # Fri → Mon
    # received on a Saturday: one working day is the whole of Monday
    assert CAL.add_working_days(bj("2031-03-08", 22), 1) == bj("2031-03-10", 17, 30)
    assert CAL.add_working_days(bj("2031-03-03", 10), 5) == bj("2031-03-10", 10)


def test_holidays_are_skipped_and_make_up_days_counted() -> None:
    # Friday 26 September: Saturday off, Sunday 28 worked (调休), then 29 and 30, then a week off
    friday = bj("2031-09-26", 17, 30)
    assert CAL.add_working_minutes(friday, 60) == bj("2031-09-28", 10)
    assert CAL.add_working_days(bj("2031-09-26", 10), 3) == bj("2031-09-30", 10)
    assert CAL.add_working_days(bj("2031-09-30", 10), 1) == bj("2031-10-08", 10)
    assert CAL.add_working_days(bj("2031-10-10", 10), 1) == bj("2031-10-11", 10)  # a Saturday
    assert not CAL.is_working_day(date(2031, 10, 6))  # a Monday off
    assert CAL.is_working_day(date(2031, 9, 28))  # a Sunday worked
    week = CAL.working_time_between(bj("2031-09-29", 0), bj("2031-10-09", 0))
    assert week == timedelta(hours=3 * 7)  # 29, 30 September and 8 October


def test_working_time_between_is_signed() -> None:
    start, end = bj("2031-03-03", 10), bj("2031-03-04", 10)
    assert CAL.working_time_between(start, end) == timedelta(hours=7)
    assert CAL.working_time_between(end, start) == -timedelta(hours=7)
    assert CAL.working_time_between(start, start) == timedelta()


def test_adding_refuses_negative_time_and_naive_instants() -> None:
    with pytest.raises(ValueError, match="forward"):
        CAL.add_working_minutes(bj("2031-03-03", 10), -1)
    with pytest.raises(ValueError, match="naive"):
        CAL.add_working_minutes(datetime(2031, 3, 3, 10), 5)
    assert CAL.add_working_minutes(bj("2031-03-08", 3), 0) == bj("2031-03-08", 3)


def test_hours_are_configurable_and_checked() -> None:
    assert parse_hours("08:30-12:00, 14:00-18:00") == (
        (time(8, 30), time(12)),
        (time(14), time(18)),
    )
    assert WorkCalendar(hours=parse_hours("08:00-16:00")).minutes_per_day == 480
    for bad in ("", "9-12", "12:00-09:00", "09:00-12:00,11:00-13:00", "nine-ten"):
        with pytest.raises(ConfigError):
            parse_hours(bad)


def test_a_calendar_without_working_days_is_an_error_not_a_hang() -> None:
    start = date(2031, 1, 1)
    everything_off = HolidayCalendar(
        holidays=frozenset(start + timedelta(days=n) for n in range(3700))
    )
    with pytest.raises(ConfigError, match="no working day"):
        WorkCalendar(days=everything_off).add_working_minutes(bj(start, 9), 1)


# --- properties over random holiday lists ---------------------------------------------

instants = st.datetimes(
    min_value=datetime(2031, 1, 1), max_value=datetime(2031, 11, 30), timezones=st.just(UTC)
)
minutes = st.integers(min_value=0, max_value=15 * 420)
days_of_2031 = st.dates(min_value=YEAR[0], max_value=YEAR[1])


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    """A calendar with random days off and random make-up working days."""
    off = draw(st.frozensets(days_of_2031, max_size=40))
    worked = draw(st.frozensets(days_of_2031, max_size=10))
    return WorkCalendar(days=HolidayCalendar(holidays=off, workdays=worked - off))


@settings(deadline=None, max_examples=150)
@given(calendars(), instants, minutes, minutes)
def test_adding_is_additive_and_monotonic_in_time(
    cal: WorkCalendar, at: datetime, a: int, b: int
) -> None:
    assert cal.add_working_minutes(cal.add_working_minutes(at, a), b) == cal.add_working_minutes(
        at, a + b
    )
    low, high = sorted((a, b))
    assert cal.add_working_minutes(at, low) <= cal.add_working_minutes(at, high)


@settings(deadline=None, max_examples=150)
@given(calendars(), instants, instants, minutes)
def test_a_later_start_never_gives_an_earlier_end(
    cal: WorkCalendar, first: datetime, second: datetime, m: int
) -> None:
    early, late = sorted((first, second))
    assert cal.add_working_minutes(early, m) <= cal.add_working_minutes(late, m)


@settings(deadline=None, max_examples=150)
@given(calendars(), instants, st.integers(min_value=1, max_value=15 * 420))
def test_the_end_lies_in_working_time_and_measures_back(
    cal: WorkCalendar, at: datetime, m: int
) -> None:
    end = cal.add_working_minutes(at, m)
    assert cal.working_time_between(at, end) == timedelta(minutes=m)
    local = end.astimezone(BEIJING)
    assert cal.is_working_day(local.date())  # never on a day off, make-up days included
    assert any(start < local.time() <= stop for start, stop in cal.hours)


@settings(deadline=None, max_examples=100)
@given(calendars(), instants, instants, instants)
def test_working_time_adds_up_over_consecutive_spans(
    cal: WorkCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    first, middle, last = sorted((a, b, c))
    whole = cal.working_time_between(first, last)
    assert whole == cal.working_time_between(first, middle) + cal.working_time_between(middle, last)
    assert timedelta() <= whole <= last - first
