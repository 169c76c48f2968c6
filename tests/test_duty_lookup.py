"""The duty lookup and shift validation, pure: boundaries, midnight, overlaps, properties.

Times are built in Beijing time (UTC+8, no daylight saving) and checked in UTC and other
zones too: an instant is an instant, whatever clock shows it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.duty.lookup import duty_at
from ivr.duty.model import UNSAVED, Duty, Leader, Shift
from ivr.duty.validate import check_endpoint, check_leader, check_shift, labelled_problems
from ivr.errors import (
    InvalidLeader,
    InvalidShift,
    LeaderUnavailable,
    ScheduleError,
    ShiftOverlap,
)

BEIJING = ZoneInfo("Asia/Shanghai")
WANG = Leader(1, "王伟", "副市长", ("PJSIP/8001",), True)
LI = Leader(2, "李娜", "秘书长", ("PJSIP/8002", "PJSIP/13800000000@trunk"), True)
ZHAO = Leader(3, "赵刚", "副市长", ("Local/9101@leaders-sim/n",), False)  # inactive
LEADERS = {x.id: x for x in (WANG, LI, ZHAO)}
NOW = datetime(2031, 3, 1, 8, 0, tzinfo=BEIJING)
US = timedelta(microseconds=1)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """An instant of March 2031, Beijing time."""
    if hour == 24:
        return datetime(2031, month, day, tzinfo=BEIJING) + timedelta(days=1, minutes=minute)
    return datetime(2031, month, day, hour, minute, tzinfo=BEIJING)


def shift(shift_id: int, start: datetime, end: datetime, leader: Leader = WANG) -> Shift:
    """A shift of `leader`."""
    return Shift(shift_id, leader.id, start, end)


MORNING = shift(1, at(5, 9), at(5, 12))


# --- the lookup -----------------------------------------------------------------------


def test_a_shift_covers_its_start_but_not_its_end() -> None:
    assert duty_at([MORNING], LEADERS, at(5, 9)) == Duty(MORNING, WANG)
    assert duty_at([MORNING], LEADERS, at(5, 12) - US) == Duty(MORNING, WANG)
    assert duty_at([MORNING], LEADERS, at(5, 12)) is None
    assert duty_at([MORNING], LEADERS, at(5, 9) - US) is None


def test_the_same_instant_in_any_zone_gets_the_same_answer() -> None:
    for zone in (UTC, timezone(timedelta(hours=-5)), ZoneInfo("Europe/Berlin")):
        assert duty_at([MORNING], LEADERS, at(5, 10).astimezone(zone)) == Duty(MORNING, WANG)
        assert duty_at([MORNING], LEADERS, at(5, 12).astimezone(zone)) is None
    # 09:00 Beijing is 01:00 UTC: a 01:00 UTC lookup is on duty, 09:00 UTC is not
    assert duty_at([MORNING], LEADERS, datetime(2031, 3, 5, 1, 0, tzinfo=UTC)) is not None
    assert duty_at([MORNING], LEADERS, datetime(2031, 3, 5, 9, 0, tzinfo=UTC)) is None


def test_beijing_midnight_is_where_days_meet() -> None:
    evening = shift(2, at(5, 21), at(5, 24), WANG)  # ends at 24:00 Beijing = 16:00 UTC
    night = shift(3, at(6, 0), at(6, 3), LI)
    shifts = [evening, night]
    assert duty_at(shifts, LEADERS, at(5, 24) - US) == Duty(evening, WANG)
    assert duty_at(shifts, LEADERS, at(6, 0)) == Duty(night, LI)
    assert duty_at(shifts, LEADERS, datetime(2031, 3, 5, 16, 0, tzinfo=UTC)) == Duty(night, LI)
    # touching shifts do not overlap: validation lets the second one in
    check_shift(night, LEADERS, [evening], now=NOW, zone=BEIJING)


def test_an_inactive_or_unknown_leader_is_never_on_duty() -> None:
    assert duty_at([shift(4, at(5, 9), at(5, 12), ZHAO)], LEADERS, at(5, 10)) is None
    assert duty_at([Shift(5, 99, at(5, 9), at(5, 12))], LEADERS, at(5, 10)) is None


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        duty_at([MORNING], LEADERS, datetime(2031, 3, 5, 10, 0))


def test_no_shifts_no_duty() -> None:
    assert duty_at([], LEADERS, at(5, 10)) is None


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (at(5, 12), at(5, 9), r"ends \(2031-03-05 09:00\) before it starts \(2031-03-05 12:00\)"),
        (at(5, 9), at(5, 9), "ends when it starts"),
        (at(5, 22), at(6, 2), "runs past midnight"),
        (at(1, 7), at(1, 9), "would start in the past"),
        (datetime(2031, 3, 5, 9), at(5, 12), "has no time zone"),
        (at(5, 9), datetime(2031, 3, 5, 12), "the end time 2031-03-05 12:00 has no time zone"),
    ],
)
def test_impossible_shifts_are_refused_with_a_reason(
    start: datetime, end: datetime, message: str
) -> None:
    with pytest.raises(InvalidShift, match=message):
        check_shift(Shift(UNSAVED, WANG.id, start, end), LEADERS, [], now=NOW, zone=BEIJING)


def test_a_shift_may_end_at_24_00() -> None:
    check_shift(shift(UNSAVED, at(5, 18), at(5, 24)), LEADERS, [], now=NOW, zone=BEIJING)


def test_unknown_and_inactive_leaders_are_refused() -> None:
    with pytest.raises(LeaderUnavailable, match="no leader with id 99"):
        check_shift(Shift(0, 99, at(5, 9), at(5, 12)), LEADERS, [], now=NOW, zone=BEIJING)
    with pytest.raises(LeaderUnavailable, match="leader 赵刚 is inactive"):
        check_shift(shift(0, at(5, 9), at(5, 12), ZHAO), LEADERS, [], now=NOW, zone=BEIJING)


def test_an_overlap_names_the_other_leader_and_time() -> None:
    late = shift(0, at(5, 11), at(5, 14), LI)
    with pytest.raises(ShiftOverlap, match="overlaps 王伟's shift 2031-03-05 09:00–12:00"):
        check_shift(late, LEADERS, [MORNING], now=NOW, zone=BEIJING)


def test_a_running_shift_keeps_its_start_but_a_past_one_is_frozen() -> None:
    now = at(5, 10)
    longer = Shift(MORNING.id, WANG.id, MORNING.starts_at, at(5, 13))
    check_shift(longer, LEADERS, [MORNING], now=now, zone=BEIJING, before=MORNING)
    with pytest.raises(InvalidShift, match="would end in the past"):
        cut = Shift(MORNING.id, WANG.id, MORNING.starts_at, at(5, 9, 30))
        check_shift(cut, LEADERS, [MORNING], now=now, zone=BEIJING, before=MORNING)
    with pytest.raises(InvalidShift, match="is over: past shifts are kept"):
        check_shift(longer, LEADERS, [], now=at(5, 12), zone=BEIJING, before=MORNING)


@pytest.mark.parametrize(
    "endpoint",
    ["PJSIP/8001", "PJSIP/leader-wang", "Local/9101@leaders-sim/n", "PJSIP/13800000000@trunk"],
)
def test_dial_strings_asterisk_takes(endpoint: str) -> None:
    assert check_endpoint(f" {endpoint} ") == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        "8001",
        "PJSIP/",
        "/8001",
        "PJSIP/8001,30",
        "PJSIP/8001&PJSIP/8002",
        "PJSIP/80 01",
        "PJSIP/8001;x",
        "PJSIP/8001|t",
        "PJSIP/${EVIL}",
        "Local/s@ctx/n)",
    ],
)
def test_dial_strings_asterisk_would_split_or_expand_are_refused(endpoint: str) -> None:
    with pytest.raises(InvalidLeader, match="is not a dial string Asterisk can use"):
        check_endpoint(endpoint)


def test_a_leader_needs_a_name_and_a_reachable_endpoint() -> None:
    with pytest.raises(InvalidLeader, match="no endpoint to be reached at"):
        check_leader("王伟", "副市长", [" ", ""])
    with pytest.raises(InvalidLeader, match="needs a name"):
        check_leader("  ", "副市长", ["PJSIP/8001"])
    leader = check_leader(" 王伟 ", "副市长", ["PJSIP/8001", "PJSIP/8001", "PJSIP/8002"])
    assert (leader.name, leader.endpoints) == ("王伟", ("PJSIP/8001", "PJSIP/8002"))


def test_a_batch_reports_every_bad_item_with_its_label() -> None:
    batch = [
        ("row 2", shift(0, at(5, 9), at(5, 12))),
        ("row 3", shift(0, at(5, 11), at(5, 13), LI)),
        ("row 4", Shift(0, 99, at(6, 9), at(6, 12))),
        ("row 5", shift(0, at(7, 9), at(7, 12), LI)),
    ]
    problems = labelled_problems(batch, [], LEADERS, now=NOW, zone=BEIJING)
    assert problems == [
        "row 3: the shift 2031-03-05 11:00–13:00 overlaps row 2",
        "row 4: there is no leader with id 99",
    ]


# --- properties -----------------------------------------------------------------------

BASE = at(5, 0)
minutes = st.integers(min_value=0, max_value=3 * 24 * 60)  # three Beijing days
lengths = st.integers(min_value=-60, max_value=12 * 60)
leader_ids = st.sampled_from(sorted(LEADERS))


@st.composite
def shifts(draw: st.DrawFn) -> Shift:
    """A shift somewhere in three days, sometimes backwards or empty (to be refused)."""
    start = BASE + timedelta(minutes=draw(minutes))
    end = start + timedelta(minutes=draw(lengths))
    return Shift(UNSAVED, draw(leader_ids), start, end)


# When the shifts were saved 赵刚 was still active; he was deactivated later.
WERE_ACTIVE = {x.id: dataclasses.replace(x, active=True) for x in LEADERS.values()}


def build(candidates: list[Shift]) -> list[Shift]:
    """Save candidates one by one as the office would: only what validation accepts."""
    saved: list[Shift] = []
    for n, candidate in enumerate(candidates, start=1):
        try:
            check_shift(candidate, WERE_ACTIVE, saved, now=NOW, zone=BEIJING)
        except ScheduleError:
            continue
        saved.append(Shift(n, candidate.leader_id, candidate.starts_at, candidate.ends_at))
    return saved


@settings(deadline=None, max_examples=300)
@given(st.lists(shifts(), max_size=25))
def test_validation_never_lets_two_shifts_overlap(candidates: list[Shift]) -> None:
    saved = build(candidates)
    for n, one in enumerate(saved):
        assert one.starts_at < one.ends_at
        assert all(not one.overlaps(other) for other in saved[n + 1 :])


@settings(deadline=None, max_examples=300)
@given(shifts(), shifts())
def test_two_shifts_overlap_exactly_when_validation_says_so(a: Shift, b: Shift) -> None:
    try:
        check_shift(a, LEADERS, [], now=NOW, zone=BEIJING)
        check_shift(b, LEADERS, [], now=NOW, zone=BEIJING)
    except ScheduleError:
        return  # each must be valid alone for the question to make sense
    saved = Shift(1, a.leader_id, a.starts_at, a.ends_at)
    shared = max(a.starts_at, b.starts_at) < min(a.ends_at, b.ends_at)
    if shared:
        with pytest.raises(ShiftOverlap):
            check_shift(b, LEADERS, [saved], now=NOW, zone=BEIJING)
    else:
        check_shift(b, LEADERS, [saved], now=NOW, zone=BEIJING)


probes = st.integers(min_value=-60, max_value=3 * 24 * 60 + 60)


@settings(deadline=None, max_examples=300)
@given(st.lists(shifts(), max_size=25), st.lists(probes, max_size=20), st.data())
def test_lookup_agrees_with_the_definition(
    candidates: list[Shift], offsets: list[int], data: st.DataObject
) -> None:
    saved = build(candidates)
    # probe at random minutes and exactly at every shift's edges, a microsecond either side
    edges = [e for s in saved for e in (s.starts_at, s.ends_at)]
    instants = [BASE + timedelta(minutes=m) for m in offsets]
    instants += [e + d for e in edges for d in (-US, timedelta(0), US)]
    shuffled = data.draw(st.permutations(saved))
    zone = data.draw(st.sampled_from([BEIJING, UTC, timezone(timedelta(hours=-11))]))
    for instant in instants:
        on = [
            s for s in saved if s.starts_at <= instant < s.ends_at and LEADERS[s.leader_id].active
        ]
        expected = Duty(on[0], LEADERS[on[0].leader_id]) if on else None
        assert len(on) <= 1
        assert duty_at(shuffled, LEADERS, instant.astimezone(zone)) == expected
