"""Which reminders are due (pure): before and at each deadline, escalations in working
days with the office's holidays, nothing once a step is done, and (hypothesis) reminders
that never go away while a step stays undone and keys raised once however often asked."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.duty.holidays import HolidayCalendar
from ivr.errors import ConfigError
from ivr.workflow.calendar import WorkCalendar
from ivr.workflow.deadlines import DeadlinePolicy
from ivr.workflow.urging import (
    Level,
    OpenAssignment,
    Step,
    UrgingPolicy,
    accept_counts_minutes,
    due_reminders,
    kind_of,
    outstanding,
    overdue_working_minutes,
    parse_kind,
    soon_at,
    working_minutes_before,
)
from tests.test_workflow_calendar import bj, calendars, instants

POLICY = UrgingPolicy()
# Wednesday 5 March 2031 is a day off in these tests.
CAL = WorkCalendar(days=HolidayCalendar(holidays=frozenset({date(2031, 3, 5)})))
MONDAY = bj("2031-03-03", 10)
LAMP = OpenAssignment(
    case_id=7,
    assignment_id=70,
    department="市城管执法局",
    lead=True,
    dispatched_at=MONDAY,
    accept_due=bj("2031-03-04", 10),
    accept_in_minutes=False,
    accepted=False,
    reply_due=bj("2031-03-11", 10),
    replied=False,
)


def kinds_at(now: datetime, *items: OpenAssignment, policy: UrgingPolicy = POLICY) -> list[str]:
    """The kinds due at `now`."""
    return [r.kind for r in due_reminders(items or (LAMP,), now, CAL, policy)]


def test_an_unaccepted_case_is_urged_then_supervised_then_noticed() -> None:
    assert kinds_at(bj("2031-03-03", 16, 29)) == []
    assert kinds_at(bj("2031-03-03", 16, 30)) == ["accept_soon"]  # 2 working hours before
    assert kinds_at(bj("2031-03-04", 10)) == ["accept_soon"]  # at the deadline, not yet late
    late = ["accept_overdue", "accept_supervision"]
    assert kinds_at(bj("2031-03-04", 10, 1)) == late
    # 3 working days late: Thursday, Friday, Monday (Wednesday is off)
    assert kinds_at(bj("2031-03-10", 9, 59)) == late
    assert kinds_at(bj("2031-03-10", 10)) == [*late, "accept_notice", "reply_soon"]


def test_each_reminder_says_when_it_fell_due_and_keys_name_the_deadline() -> None:
    due = due_reminders([LAMP], bj("2031-03-10", 10), CAL, POLICY)
    when = {r.kind: r.due_at for r in due}
    assert when == {
        "accept_overdue": bj("2031-03-04", 10),
        "accept_supervision": bj("2031-03-04", 10),
        "accept_notice": bj("2031-03-10", 10),
        "reply_soon": bj("2031-03-10", 10),  # one working day before Tuesday 10:00
    }
    assert due[0].key == "7/70/accept_overdue/2031-03-04T02:00:00+00:00"


def test_done_steps_are_not_urged_and_co_handlers_do_not_reply() -> None:
    accepted = dataclasses.replace(LAMP, accepted=True)
    assert kinds_at(bj("2031-03-10", 10), accepted) == ["reply_soon"]
    replied = dataclasses.replace(accepted, replied=True)
    assert kinds_at(bj("2031-03-20", 10), replied) == []
    co = dataclasses.replace(LAMP, lead=False, assignment_id=71)
    assert kinds_at(bj("2031-03-20", 10), co) == [
        "accept_overdue",
        "accept_supervision",
        "accept_notice",
    ]


def test_a_pending_extension_holds_back_only_the_due_soon_reminder() -> None:
    asking = dataclasses.replace(LAMP, accepted=True, extension_pending=True)
    assert kinds_at(bj("2031-03-10", 17), asking) == []
    assert kinds_at(bj("2031-03-11", 10, 1), asking) == ["reply_overdue", "reply_supervision"]


def test_minute_deadlines_are_urged_ten_minutes_before() -> None:
    saturday_night = bj("2031-03-08", 23)
    leak = dataclasses.replace(
        LAMP,
        dispatched_at=saturday_night,
        accept_due=saturday_night + timedelta(minutes=15),
        accept_in_minutes=True,
    )
    assert kinds_at(saturday_night + timedelta(minutes=4), leak) == []
    assert kinds_at(saturday_night + timedelta(minutes=5), leak) == ["accept_soon"]
    late = saturday_night + timedelta(minutes=16)
    assert kinds_at(late, leak) == ["accept_overdue", "accept_supervision"]
    # the notice counts whole working days from the deadline: Monday, Tuesday, Wednesday
    assert "accept_notice" not in kinds_at(bj("2031-03-12", 17, 29), leak)
    assert "accept_notice" in kinds_at(bj("2031-03-12", 17, 30), leak)


def test_no_due_soon_reminder_at_the_dispatch_itself() -> None:
    # a lead time as long as the step: the dispatch is the notice
    eager = UrgingPolicy(accept_soon_working_minutes=420)
    assert kinds_at(bj("2031-03-03", 12), policy=eager) == []
    assert soon_at(LAMP, Step.ACCEPT, CAL, eager) is None


def test_supervision_and_notice_delays_are_configurable() -> None:
    patient = UrgingPolicy(supervise_after_working_minutes=60, notice_after_working_days=1)
    assert kinds_at(bj("2031-03-04", 10, 59), policy=patient) == ["accept_overdue"]
    assert kinds_at(bj("2031-03-04", 11), policy=patient) == [
        "accept_overdue",
        "accept_supervision",
    ]
    assert "accept_notice" in kinds_at(bj("2031-03-06", 10), policy=patient)  # Thursday


@pytest.mark.parametrize(
    "fields",
    [
        {"soon_minutes": -1},
        {"notice_after_working_days": 0},
        {"reply_soon_working_minutes": 1.5},
        {"supervise_after_working_minutes": True},
    ],
)
def test_bad_policies_are_config_errors(fields: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="urging"):
        UrgingPolicy(**fields)  # type: ignore[arg-type]


def test_kinds_round_trip_and_minute_deadlines_follow_the_deadline_policy() -> None:
    for step in Step:
        for level in Level:
            assert parse_kind(kind_of(step, level)) == (step, level)
    with pytest.raises(ValueError):
        parse_kind("accept_later")
    policy = DeadlinePolicy()
    assert accept_counts_minutes(policy, priority="urgent", category="urban")
    assert accept_counts_minutes(policy, priority="normal", category="utilities")
    assert not accept_counts_minutes(policy, priority="normal", category="urban")


def test_a_reminder_stands_while_its_step_is_undone_on_the_same_deadline() -> None:
    deadline = LAMP.reply_due
    assert outstanding(Step.REPLY, deadline, LAMP)
    assert not outstanding(Step.REPLY, deadline, dataclasses.replace(LAMP, replied=True))
    extended = dataclasses.replace(LAMP, reply_due=deadline + timedelta(days=7))
    assert not outstanding(Step.REPLY, deadline, extended)
    assert not outstanding(Step.ACCEPT, LAMP.accept_due, None)
    assert overdue_working_minutes(CAL, LAMP.accept_due, bj("2031-03-06", 9)) == 6 * 60
    assert overdue_working_minutes(CAL, LAMP.accept_due, bj("2031-03-03", 9)) == 0


def test_counting_back_skips_lunch_nights_and_holidays() -> None:
    assert working_minutes_before(CAL, bj("2031-03-04", 10), 120) == bj("2031-03-03", 16, 30)
    assert working_minutes_before(CAL, bj("2031-03-06", 9), 30) == bj("2031-03-04", 17)
    assert working_minutes_before(CAL, bj("2031-03-03", 14), 60) == bj("2031-03-03", 11, 30)
    assert working_minutes_before(CAL, bj("2031-03-03", 14), 0) == bj("2031-03-03", 14)
    with pytest.raises(ValueError, match="back"):
        working_minutes_before(CAL, MONDAY, -1)


# --- properties -------------------------------------------------------------------------

spans = st.integers(min_value=1, max_value=10 * 420)


@st.composite
def assignments(draw: st.DrawFn) -> OpenAssignment:
    """An open assignment dispatched at some instant of 2031, deadlines after it."""
    start = draw(instants)
    accept = start + timedelta(minutes=draw(st.integers(min_value=1, max_value=3000)))
    reply = accept + timedelta(minutes=draw(st.integers(min_value=0, max_value=20000)))
    return OpenAssignment(
        case_id=draw(st.integers(1, 10**6)),
        assignment_id=draw(st.integers(1, 10**6)),
        department="dept",
        lead=draw(st.booleans()),
        dispatched_at=start,
        accept_due=accept,
        accept_in_minutes=draw(st.booleans()),
        accepted=draw(st.booleans()),
        reply_due=reply,
        replied=False,
        extension_pending=draw(st.booleans()),
    )


@settings(deadline=None, max_examples=150)
@given(calendars(), assignments(), st.integers(0, 30 * 24 * 60), st.integers(0, 30 * 24 * 60))
def test_escalations_only_grow_and_are_raised_once(
    cal: WorkCalendar, item: OpenAssignment, first: int, more: int
) -> None:
    early = item.dispatched_at + timedelta(minutes=first)
    late = early + timedelta(minutes=more)
    before = due_reminders([item], early, cal, POLICY)
    after = due_reminders([item], late, cal, POLICY)
    lasting = {r.key for r in before if r.level is not Level.SOON}
    assert lasting <= {r.key for r in after}
    for now, found in ((early, before), (late, after)):
        keys = [r.key for r in found]
        assert len(keys) == len(set(keys))
        assert all(item.dispatched_at < r.due_at <= now for r in found if r.level is Level.SOON)
        assert all(r.due_at <= now for r in found)
        levels = {(r.step, r.level) for r in found}
        for step in Step:
            if (step, Level.NOTICE) in levels:
                assert (step, Level.SUPERVISION) in levels
            if (step, Level.SUPERVISION) in levels:
                assert (step, Level.OVERDUE) in levels
                assert (step, Level.SOON) not in levels
            assert item.owes(step) or not any(s is step for s, _ in levels)


@settings(deadline=None, max_examples=150)
@given(calendars(), instants, spans)
def test_counting_back_is_the_latest_start_of_that_much_working_time(
    cal: WorkCalendar, end: datetime, minutes: int
) -> None:
    start = working_minutes_before(cal, end, minutes)
    assert cal.working_time_between(start, end) == timedelta(minutes=minutes)
    assert cal.working_time_between(start + timedelta(seconds=1), end) < timedelta(minutes=minutes)
