"""A proposed rotation: which working days leaders take the hotline, for a month or more.

Deterministic, so the office gets the same proposal twice and tests can predict it: in each
month the wanted number of working days is spread evenly (the middle of equal stretches),
and active leaders take turns in id order, starting after whoever was on duty last. With
at least two leaders nobody is on duty on two consecutive duty days, and over the period
no leader has more than one duty day more than any other.
"""

from __future__ import annotations

import calendar
import dataclasses
from collections.abc import Collection, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from ivr.duty.holidays import HolidayCalendar
from ivr.duty.model import UNSAVED, Leader, Shift
from ivr.duty.months import months_from
from ivr.errors import InvalidShift, LeaderUnavailable, ScheduleError

DEFAULT_DAYS_PER_MONTH = 2
MAX_MONTHS = 12
# A leader's duty morning, Beijing time (the office changes it per request).
DEFAULT_START = time(9, 0)
DEFAULT_END = time(12, 0)


@dataclasses.dataclass(frozen=True)
class RotationRequest:
    """What the office asks for: from which month, how many months, days and hours."""

    first_month: date
    months: int = 1
    days_per_month: int = DEFAULT_DAYS_PER_MONTH
    start: time = DEFAULT_START
    end: time = DEFAULT_END
    zone: tzinfo = dataclasses.field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    def check(self) -> None:
        """Refuse a request that cannot make a rotation."""
        if not 1 <= self.months <= MAX_MONTHS:
            raise ScheduleError(f"a rotation covers 1 to {MAX_MONTHS} months, not {self.months}")
        if not 1 <= self.days_per_month <= 31:
            raise ScheduleError(f"duty days a month must be 1 to 31, not {self.days_per_month}")
        if self.end != time() and self.end <= self.start:
            raise InvalidShift(
                f"the duty hours end ({self.end:%H:%M}) before they start ({self.start:%H:%M})"
            )


def propose_rotation(
    leaders: Sequence[Leader],
    request: RotationRequest,
    holidays: HolidayCalendar,
    *,
    today: date,
    taken: Collection[date] = (),
    previous_leader_id: int | None = None,
) -> list[Shift]:
    """Unsaved shifts (id 0) for the request, on working days after `today`.

    Days in `taken` (already scheduled) are left out; a month with fewer free working days
    than asked gets what it has.
    """
    request.check()
    days = [
        day
        for month in months_from(request.first_month, request.months)
        for day in spread(free_days(month, holidays, today, taken), request.days_per_month)
    ]
    turns = take_turns(leaders, len(days), previous_leader_id)
    return [_shift(day, leader, request) for day, leader in zip(days, turns, strict=True)]


def free_days(
    month: date, holidays: HolidayCalendar, today: date, taken: Collection[date]
) -> list[date]:
    """The month's working days after `today` that have no shift yet."""
    length = calendar.monthrange(month.year, month.month)[1]
    days = (month.replace(day=n) for n in range(1, length + 1))
    return [d for d in days if d > today and d not in taken and holidays.is_working_day(d)]


def spread(days: Sequence[date], count: int) -> list[date]:
    """`count` of `days` spaced evenly: the middle day of each of `count` equal stretches."""
    if count >= len(days):
        return list(days)
    # Centres of equal stretches lie len/count >= 1 apart, so no day is picked twice.
    return [days[(2 * n + 1) * len(days) // (2 * count)] for n in range(count)]


def take_turns(leaders: Sequence[Leader], count: int, previous_id: int | None) -> list[Leader]:
    """`count` duty days' leaders, in turn, never the same one twice running."""
    if count == 0:
        return []
    ready = sorted((x for x in leaders if x.active and x.endpoints), key=lambda x: x.id)
    if not ready:
        raise LeaderUnavailable("there is no active leader to put on duty: add one first")
    after = next((n + 1 for n, x in enumerate(ready) if x.id == previous_id), 0)
    order = ready[after:] + ready[:after]
    turns = [order[n % len(order)] for n in range(count)]
    if len(order) == 1 and (count > 1 or turns[0].id == previous_id):
        raise LeaderUnavailable(
            f"only {turns[0].name} is active: a rotation never puts one leader on two duty "
            "days in a row, so add or reactivate another leader"
        )
    return turns


def _shift(day: date, leader: Leader, request: RotationRequest) -> Shift:
    starts_at = datetime.combine(day, request.start, tzinfo=request.zone)
    end_day = day + timedelta(days=1) if request.end == time() else day
    ends_at = datetime.combine(end_day, request.end, tzinfo=request.zone)
    return Shift(id=UNSAVED, leader_id=leader.id, starts_at=starts_at, ends_at=ends_at)
