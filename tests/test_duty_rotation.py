"""Rotation proposals: working days only, spread evenly, leaders in fair turns, never twice
running, deterministic; pure, so every case is a plain function call."""

from __future__ import annotations

import calendar
import itertools
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.duty.holidays import Holiday, HolidayCalendar, HolidayKind
from ivr.duty.model import UNSAVED, Leader, Shift
from ivr.duty.months import months_from, parse_month
from ivr.duty.rotation import RotationRequest, propose_rotation, spread
from ivr.errors import InvalidShift, LeaderUnavailable, ScheduleError

BEIJING = ZoneInfo("Asia/Shanghai")
MAYOR = Leader(1, "陈市长", "市长", ("PJSIP/8001",), True)
VICE = Leader(2, "王伟", "副市长", ("PJSIP/8002",), True)
SECRETARY = Leader(3, "李娜", "秘书长", ("PJSIP/8003",), True)
RETIRED = Leader(4, "赵刚", "副市长", ("PJSIP/8004",), False)
LEADERS = [SECRETARY, RETIRED, MAYOR, VICE]  # any order: turns go by id
# National Day 2031: 1-7 October off, Saturday 11 October worked instead (调休).
NATIONAL_DAY = HolidayCalendar.of(
    [Holiday(date(2031, 10, d), "国庆节", HolidayKind.HOLIDAY) for d in range(1, 8)]
    + [Holiday(date(2031, 10, 11), "国庆调休", HolidayKind.WORKDAY)]
)
BEFORE = date(2031, 1, 1)  # "today", before every month asked for


def ask(month: str, **changes: object) -> RotationRequest:
    """A request from `month` with the defaults otherwise."""
    return RotationRequest(first_month=parse_month(month), **changes)  # type: ignore[arg-type]


def days_of(shifts: list[Shift]) -> list[date]:
    """The local days of the shifts."""
    return [s.starts_at.astimezone(BEIJING).date() for s in shifts]


def test_two_duty_days_in_a_month_spread_evenly_on_default_hours() -> None:
    shifts = propose_rotation(LEADERS, ask("2031-03"), HolidayCalendar(), today=BEFORE)
    # March 2031 has 21 working days; the middles of two halves are the 6th and 16th of them
    assert days_of(shifts) == [date(2031, 3, 10), date(2031, 3, 24)]
    assert [s.leader_id for s in shifts] == [MAYOR.id, VICE.id]
    assert shifts[0].starts_at == datetime(2031, 3, 10, 9, 0, tzinfo=BEIJING)
    assert shifts[0].ends_at == datetime(2031, 3, 10, 12, 0, tzinfo=BEIJING)
    assert {s.id for s in shifts} == {UNSAVED} and all(s.note == "" for s in shifts)


def test_the_same_request_gets_the_same_proposal() -> None:
    once = propose_rotation(LEADERS, ask("2031-10", months=3), NATIONAL_DAY, today=BEFORE)
    assert once == propose_rotation(
        list(reversed(LEADERS)), ask("2031-10", months=3), NATIONAL_DAY, today=BEFORE
    )


def test_holidays_are_skipped_and_make_up_saturdays_are_working_days() -> None:
    request = ask("2031-10", days_per_month=31)
    days = days_of(propose_rotation(LEADERS, request, NATIONAL_DAY, today=BEFORE))
    assert not any(date(2031, 10, d) in days for d in range(1, 8))
    assert date(2031, 10, 11) in days  # the 调休 Saturday
    assert date(2031, 10, 18) not in days  # an ordinary Saturday
    assert all(d.weekday() < 5 or d == date(2031, 10, 11) for d in days)
    assert len(days) == 19  # 23 weekdays, 5 of them off, 1 Saturday worked


def test_days_already_scheduled_and_days_up_to_today_are_left_out() -> None:
    taken = {date(2031, 3, 10)}
    shifts = propose_rotation(
        LEADERS, ask("2031-03"), HolidayCalendar(), today=date(2031, 3, 12), taken=taken
    )
    days = days_of(shifts)
    assert all(d > date(2031, 3, 12) for d in days) and date(2031, 3, 10) not in days
    assert len(days) == 2


def test_a_month_short_of_free_days_gets_what_it_has() -> None:
    shifts = propose_rotation(
        LEADERS, ask("2031-03", days_per_month=5), HolidayCalendar(), today=date(2031, 3, 27)
    )
    assert days_of(shifts) == [date(2031, 3, 28), date(2031, 3, 31)]


def test_turns_continue_after_whoever_was_on_duty_last() -> None:
    shifts = propose_rotation(
        LEADERS, ask("2031-03"), HolidayCalendar(), today=BEFORE, previous_leader_id=MAYOR.id
    )
    assert [s.leader_id for s in shifts] == [VICE.id, SECRETARY.id]
    after_last = propose_rotation(
        LEADERS, ask("2031-03"), HolidayCalendar(), today=BEFORE, previous_leader_id=SECRETARY.id
    )
    assert after_last[0].leader_id == MAYOR.id


def test_a_quarter_rotates_fairly_and_never_repeats_a_leader() -> None:
    shifts = propose_rotation(
        [MAYOR, VICE], ask("2031-10", months=3, days_per_month=3), NATIONAL_DAY, today=BEFORE
    )
    assert len(shifts) == 9
    ids = [s.leader_id for s in shifts]
    assert all(a != b for a, b in itertools.pairwise(ids))
    assert sorted(Counter(ids).values()) == [4, 5]
    assert {d.month for d in days_of(shifts)} == {10, 11, 12}


def test_custom_hours_and_a_shift_to_midnight() -> None:
    request = ask("2031-03", start=time(14, 30), end=time())  # 14:30 to 24:00
    shift = propose_rotation(LEADERS, request, HolidayCalendar(), today=BEFORE)[0]
    assert shift.starts_at == datetime(2031, 3, 10, 14, 30, tzinfo=BEIJING)
    assert shift.ends_at == datetime(2031, 3, 11, 0, 0, tzinfo=BEIJING)


def test_one_active_leader_cannot_take_two_days_in_a_row() -> None:
    with pytest.raises(LeaderUnavailable, match="only 王伟 is active"):
        propose_rotation([VICE, RETIRED], ask("2031-03"), HolidayCalendar(), today=BEFORE)
    with pytest.raises(LeaderUnavailable, match="only 王伟 is active"):
        propose_rotation(
            [VICE],
            ask("2031-03", days_per_month=1),
            HolidayCalendar(),
            today=BEFORE,
            previous_leader_id=VICE.id,
        )
    one = propose_rotation(
        [VICE], ask("2031-03", days_per_month=1), HolidayCalendar(), today=BEFORE
    )
    assert [s.leader_id for s in one] == [VICE.id]


def test_no_active_leader_no_rotation() -> None:
    with pytest.raises(LeaderUnavailable, match="no active leader"):
        propose_rotation([RETIRED], ask("2031-03"), HolidayCalendar(), today=BEFORE)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"months": 0}, ScheduleError, "1 to 12 months"),
        ({"months": 13}, ScheduleError, "1 to 12 months"),
        ({"days_per_month": 0}, ScheduleError, "1 to 31"),
        ({"start": time(12), "end": time(9)}, InvalidShift, r"end \(09:00\) before"),
    ],
)
def test_requests_that_make_no_rotation_are_refused(
    changes: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        propose_rotation(LEADERS, ask("2031-03", **changes), HolidayCalendar(), today=BEFORE)


def test_spread_picks_distinct_middles() -> None:
    days = [date(2031, 3, 1) + timedelta(days=n) for n in range(7)]
    assert spread(days, 1) == [days[3]]
    assert spread(days, 7) == days
    assert spread(days, 9) == days
    assert spread(days, 3) == [days[1], days[3], days[5]]


@st.composite
def calendars(draw: st.DrawFn) -> HolidayCalendar:
    """Random days off and make-up days in 2031."""
    days = st.dates(min_value=date(2031, 1, 1), max_value=date(2031, 12, 31))
    return HolidayCalendar(
        holidays=frozenset(draw(st.sets(days, max_size=40))),
        workdays=frozenset(draw(st.sets(days, max_size=10))),
    )


@settings(deadline=None, max_examples=200)
@given(
    leaders=st.integers(min_value=2, max_value=6),
    first=st.integers(min_value=1, max_value=10),
    months=st.integers(min_value=1, max_value=3),
    per_month=st.integers(min_value=1, max_value=12),
    holidays=calendars(),
    previous=st.none() | st.integers(min_value=1, max_value=6),
)
def test_every_proposal_keeps_the_rules(
    leaders: int,
    first: int,
    months: int,
    per_month: int,
    holidays: HolidayCalendar,
    previous: int | None,
) -> None:
    team = [Leader(n, f"领导{n}", "", (f"PJSIP/80{n:02d}",), True) for n in range(1, leaders + 1)]
    request = RotationRequest(date(2031, first, 1), months=months, days_per_month=per_month)
    shifts = propose_rotation(team, request, holidays, today=BEFORE, previous_leader_id=previous)
    days = days_of(shifts)
    assert days == sorted(set(days))
    assert all(holidays.is_working_day(d) for d in days)
    for month in months_from(request.first_month, months):
        length = calendar.monthrange(month.year, month.month)[1]
        free = [month.replace(day=n) for n in range(1, length + 1)]
        free = [d for d in free if holidays.is_working_day(d)]
        assert sum(1 for d in days if d.replace(day=1) == month) == min(per_month, len(free))
    ids = [s.leader_id for s in shifts]
    assert all(a != b for a, b in itertools.pairwise([previous, *ids]))
    counts = Counter(ids)
    if len(shifts) >= leaders:
        assert max(counts.values()) - min(counts[x.id] for x in team) <= 1
