"""Months of the calendar: parsing `2025-03`, their spans in time, their weeks for a grid."""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, tzinfo

from ivr.errors import ScheduleError

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_month(text: str) -> date:
    """The first day of a month written `YYYY-MM`, or ScheduleError."""
    found = _MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1970:
        raise ScheduleError(f"month {text!r} is not a month: write YYYY-MM, e.g. 2025-03")
    return date(int(found.group(1)), int(found.group(2)), 1)


def month_of(day: date) -> date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def add_months(first: date, count: int) -> date:
    """The first day of the month `count` months after `first`'s (before, when negative)."""
    index = first.year * 12 + first.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_from(first: date, count: int) -> list[date]:
    """The first days of `count` months starting with `first`'s."""
    return [add_months(month_of(first), n) for n in range(count)]


def month_span(first: date, count: int, zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants [start, end) of `count` months from `first`'s, midnight local time."""
    start = datetime.combine(month_of(first), time(), tzinfo=zone)
    return start, datetime.combine(add_months(first, count), time(), tzinfo=zone)


def weeks_of(first: date) -> list[list[date | None]]:
    """The month as weeks Monday to Sunday; None pads the days of other months."""
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return [[day if day.month == first.month else None for day in week] for week in weeks]
