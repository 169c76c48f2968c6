"""Deadlines by class: urgent and utility cases in calendar minutes (nights and weekends
included), the rest in working days; extensions; the policy configurable and checked."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.errors import ConfigError, ValidationError
from ivr.workflow import inputs
from ivr.workflow.deadlines import (
    DeadlinePolicy,
    Deadlines,
    accept_due,
    deadlines_for,
    extended_due,
    is_overdue,
)
from tests.test_workflow_calendar import BEIJING, CAL, bj

POLICY = DeadlinePolicy()


def due(priority: str, category: str, at: datetime, policy: DeadlinePolicy = POLICY) -> datetime:
    """The accept deadline of a case dispatched at `at`."""
    return accept_due(policy, CAL, dispatched_at=at, priority=priority, category=category)


def test_a_gas_leak_on_saturday_night_is_accepted_within_15_minutes() -> None:
    saturday_night = bj("2031-03-08", 23)
    assert due("urgent", "utilities", saturday_night) == bj("2031-03-08", 23, 15)
    assert due("urgent", "urban", saturday_night) == bj("2031-03-08", 23, 15)
    assert due("normal", "utilities", saturday_night) == bj("2031-03-08", 23, 30)
    assert due("important", "utilities", saturday_night) == bj("2031-03-08", 23, 30)


def test_other_cases_are_accepted_within_one_working_day() -> None:
    assert due("normal", "urban", bj("2031-03-07", 16)) == bj("2031-03-10", 16)
    assert due("important", "urban", bj("2031-09-30", 10)) == bj("2031-10-08", 10)


def test_a_dispatch_sets_reply_and_return_deadlines_in_working_days() -> None:
    at = bj("2031-09-26", 10)  # Friday before National Day; Sunday 28 is worked
    found = deadlines_for(POLICY, CAL, dispatched_at=at, priority="normal", category="urban")
    assert found == Deadlines(
        accept_due=bj("2031-09-28", 10),
        reply_due=bj("2031-10-09", 10),  # 28, 29, 30 Sep, 8, 9 Oct
        return_until=bj("2031-09-29", 10),
    )


def test_rework_has_its_own_reply_time() -> None:
    policy = DeadlinePolicy(rework_reply_working_days=3)
    at = bj("2031-03-03", 10)
    first = deadlines_for(policy, CAL, dispatched_at=at, priority="normal", category="x")
    again = deadlines_for(
        policy, CAL, dispatched_at=at, priority="normal", category="x", rework=True
    )
    assert (first.reply_due, again.reply_due) == (bj("2031-03-10", 10), bj("2031-03-06", 10))


def test_an_extension_counts_working_days_from_the_old_deadline() -> None:
    # 28, 29, 30 September, 8, 9, 10, 11 (a make-up Saturday), 13, 14, 15 October
    assert extended_due(CAL, bj("2031-09-26", 10), 10) == bj("2031-10-15", 10)


def test_the_policy_is_configurable_from_a_settings_table() -> None:
    policy = DeadlinePolicy.from_mapping(
        {"urgent_accept_minutes": 10, "utility_categories": ["utilities", "heating"]}
    )
    assert policy.urgent_accept_minutes == 10
    assert policy.utility_categories == frozenset({"utilities", "heating"})
    assert due("normal", "heating", bj("2031-03-08", 23), policy) == bj("2031-03-08", 23, 30)
    for bad in ({"nonsense": 1}, {"reply_working_days": 0}, {"reply_working_days": "5"}):
        with pytest.raises(ConfigError):
            DeadlinePolicy.from_mapping(bad)
    with pytest.raises(ConfigError):
        DeadlinePolicy(max_extension_working_days=0)


def test_extension_days_are_checked_against_the_policy() -> None:
    assert inputs.extension_days(10, POLICY) == 10
    for bad in (0, 11, -1, "3", 2.5, True, None):
        with pytest.raises(ValidationError, match="10"):
            inputs.extension_days(bad, POLICY)


def test_overdue_is_judged_on_when_it_was_done() -> None:
    deadline = bj("2031-03-03", 10)
    assert not is_overdue(deadline, deadline)
    assert is_overdue(deadline, deadline + timedelta(seconds=1))
    later = deadline + timedelta(days=3)
    assert not is_overdue(deadline, later, done_at=deadline - timedelta(minutes=1))


def test_reply_fields_are_all_required() -> None:
    good = inputs.reply_input(" 已修复路灯 ", "张三", "2031-03-05")
    assert (good.result, good.handler, good.handled_on) == ("已修复路灯", "张三", date(2031, 3, 5))
    for result, handler, handled_on, message in (
        ("", "张三", "2031-03-05", "办理结果不能为空"),
        ("已修复", "  ", "2031-03-05", "经办人不能为空"),
        ("已修复", "张三", None, "办结日期不能为空"),
        ("已修复", "张三", "5 March", "YYYY-MM-DD"),
        ("已修复", 42, "2031-03-05", "经办人应为文字"),
        ("x" * 4001, "张三", "2031-03-05", "4000"),
    ):
        with pytest.raises(ValidationError, match=message):
            inputs.reply_input(result, handler, handled_on)
    with pytest.raises(ValidationError, match="晚于今天"):
        inputs.check_handled_on(
            date(2031, 3, 6), today=date(2031, 3, 5), dispatched_on=date(2031, 3, 1)
        )
    with pytest.raises(ValidationError, match="早于交办日期"):
        inputs.check_handled_on(
            date(2031, 2, 28), today=date(2031, 3, 5), dispatched_on=date(2031, 3, 1)
        )


@settings(deadline=None, max_examples=100)
@given(
    st.datetimes(min_value=datetime(2031, 1, 1), max_value=datetime(2031, 11, 1)),
    st.sampled_from(["normal", "important", "urgent"]),
    st.sampled_from(["utilities", "urban", "other"]),
)
def test_deadlines_come_in_order(at: datetime, priority: str, category: str) -> None:
    start = at.replace(tzinfo=BEIJING)
    found = deadlines_for(POLICY, CAL, dispatched_at=start, priority=priority, category=category)
    assert start < found.accept_due <= found.return_until < found.reply_due
