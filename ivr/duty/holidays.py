"""Public holidays and make-up working days (调休), and which days are working days."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from datetime import date

SATURDAY = 5


class HolidayKind(enum.StrEnum):
    """A day off on a weekday, or a working day on a weekend (调休)."""

    HOLIDAY = "holiday"
    WORKDAY = "workday"


@dataclasses.dataclass(frozen=True)
class Holiday:
    """One entry of the office's holiday list."""

    day: date
    name: str
    kind: HolidayKind


@dataclasses.dataclass(frozen=True)
class HolidayCalendar:
    """Working days: Monday to Friday, minus holidays, plus make-up working days."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, entries: Iterable[Holiday]) -> HolidayCalendar:
        """The calendar the office's holiday list describes."""
        listed = list(entries)
        return cls(
            holidays=frozenset(h.day for h in listed if h.kind is HolidayKind.HOLIDAY),
            workdays=frozenset(h.day for h in listed if h.kind is HolidayKind.WORKDAY),
        )

    def is_working_day(self, day: date) -> bool:
        """Whether the offices work on `day` (a make-up Saturday does, a holiday Monday not)."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < SATURDAY
