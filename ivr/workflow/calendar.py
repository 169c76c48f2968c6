"""Working time: the office's working days and hours, and time counted in them.

Working days are the duty schedule's: Monday to Friday, minus the office's holidays, plus
its make-up working days (调休), from the one holiday list the office keeps
(ivr.db.duty_models.HolidayRecord, read into ivr.duty.holidays.HolidayCalendar). Working
hours are the same on every working day (by default 09:00–12:00 and 13:30–17:30 in
Asia/Shanghai), as local wall-clock times.

Adding working time gives the earliest instant at which that much working time has passed,
so a period's end (17:30) is returned as is rather than the next morning's 09:00; this
makes adding additive (adding a, then b, is adding a + b) and
`working_time_between(t, add_working_minutes(t, m))` exactly m minutes. A working day is
the day's working minutes (420 by default): one working day after Monday 10:00 is
Tuesday 10:00, after Friday 16:00 it is Monday 16:00, and after a Saturday it is the end
of Monday.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.duty.holidays import HolidayCalendar
from ivr.errors import ConfigError

Period = tuple[time, time]
DEFAULT_HOURS: tuple[Period, ...] = ((time(9), time(12)), (time(13, 30), time(17, 30)))
DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
# Weekdays always come back, so only a calendar gone mad (years of holidays) gets this far:
# better an error naming it than a loop that never ends.
MAX_SEARCH_DAYS = 3660


def parse_hours(text: str) -> tuple[Period, ...]:
    """Working hours from text like "09:00-12:00,13:30-17:30"; a ConfigError when unusable."""
    periods = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        try:
            if not sep:
                raise ValueError(part)
            periods.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
        except ValueError as exc:
            raise ConfigError(f"working hours {text!r}: write them like 09:00-12:00") from exc
    return check_hours(tuple(periods))


def check_hours(periods: tuple[Period, ...]) -> tuple[Period, ...]:
    """The periods if they are in order, each starting before it ends; else a ConfigError."""
    if not periods:
        raise ConfigError("working hours: at least one period is needed")
    previous_end = time.min
    for start, end in periods:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ConfigError("working hours are local times, without a time zone")
        if not start < end:
            raise ConfigError(f"working hours: {start:%H:%M} is not before {end:%H:%M}")
        if start < previous_end:
            raise ConfigError("working hours must be in order and must not overlap")
        previous_end = end
    return periods


def _aware(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass a timezone-aware one")
    return moment.astimezone(UTC)


@dataclasses.dataclass(frozen=True)
class WorkCalendar:
    """Working days (holidays and 调休 from the office's list) and working hours."""

    days: HolidayCalendar = dataclasses.field(default_factory=HolidayCalendar)
    hours: tuple[Period, ...] = DEFAULT_HOURS
    zone: ZoneInfo = DEFAULT_ZONE

    def __post_init__(self) -> None:
        check_hours(self.hours)

    @property
    def minutes_per_day(self) -> int:
        """How many working minutes a working day has."""
        seconds = sum(
            (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds()
            for start, end in self.hours
        )
        return int(seconds // 60)

    def is_working_day(self, day: date) -> bool:
        """Whether the office works on `day`."""
        return self.days.is_working_day(day)

    def periods_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working periods of a day, in UTC; none on a day off."""
        if not self.is_working_day(day):
            return []
        return [
            (
                datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC),
                datetime.combine(day, end, tzinfo=self.zone).astimezone(UTC),
            )
            for start, end in self.hours
        ]

    def add_working_minutes(self, at: datetime, minutes: int) -> datetime:
        """The earliest instant by which `minutes` of working time have passed since `at`."""
        if minutes < 0:
            raise ValueError(f"cannot add {minutes} working minutes: count forward only")
        start = _aware(at)
        left = timedelta(minutes=minutes)
        if not left:
            return at
        for begin, end in self._periods_from(start):
            begin = max(begin, start)
            if left <= end - begin:
                return (begin + left).astimezone(at.tzinfo)
            left -= end - begin
        raise AssertionError("unreachable: _periods_from ends with a ConfigError")

    def add_working_days(self, at: datetime, days: int) -> datetime:
        """`at` plus `days` working days of working time (see the module's docstring)."""
        return self.add_working_minutes(at, days * self.minutes_per_day)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time from `start` to `end` (negative when `end` comes first)."""
        first, last = _aware(start), _aware(end)
        if last < first:
            return -self.working_time_between(end, start)
        total = timedelta()
        day = first.astimezone(self.zone).date()
        while day <= last.astimezone(self.zone).date():
            for begin, finish in self.periods_on(day):
                total += max(timedelta(), min(finish, last) - max(begin, first))
            day += timedelta(days=1)
        return total

    def _periods_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        # The working periods that end after `start`, in order, from its local day on.
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_SEARCH_DAYS):
            for begin, end in self.periods_on(day):
                if end > start:
                    yield begin, end
            day += timedelta(days=1)
        raise ConfigError(f"no working day in the {MAX_SEARCH_DAYS} days after {start:%Y-%m-%d}")
