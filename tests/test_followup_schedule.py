"""When the automatic follow-up call is due: the day after the reply, within calling hours,
retried after an unanswered call, never more than the set number of times per round."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ivr.errors import ConfigError
from ivr.followup.schedule import (
    CallingPolicy,
    PendingFollowUp,
    calling_hours,
    due_now,
    next_call_at,
)
from ivr.settings import load_settings
from tests.test_workflow_calendar import BEIJING, bj

POLICY = CallingPolicy(zone=BEIJING)


def replied(at_day: str, hour: int, **fields: object) -> PendingFollowUp:
    """A case replied then, with `fields` (attempts, last_attempt_at, ...) given."""
    return PendingFollowUp(case_id=1, replied_at=bj(at_day, hour), **fields)  # type: ignore[arg-type]


def test_the_first_call_is_the_morning_after_the_reply() -> None:
    assert next_call_at(replied("2031-03-03", 16), POLICY) == bj("2031-03-04", 9)
    # a reply written late at night still waits for the next day's calling hours
    assert next_call_at(replied("2031-03-03", 23), POLICY) == bj("2031-03-04", 9)
    assert next_call_at(replied("2031-03-03", 8), POLICY) == bj("2031-03-04", 9)


def test_an_unanswered_call_is_tried_again_later_within_calling_hours() -> None:
    afternoon = replied("2031-03-03", 16, attempts=1, last_attempt_at=bj("2031-03-04", 9, 5))
    assert next_call_at(afternoon, POLICY) == bj("2031-03-04", 11, 5)
    evening = replied("2031-03-03", 16, attempts=2, last_attempt_at=bj("2031-03-04", 19))
    assert next_call_at(evening, POLICY) == bj("2031-03-05", 9), "not at 21:00"


def test_after_the_last_attempt_or_without_a_number_it_is_an_agents_job() -> None:
    tried = replied("2031-03-03", 16, attempts=3, last_attempt_at=bj("2031-03-04", 15))
    assert next_call_at(tried, POLICY) is None
    assert next_call_at(replied("2031-03-03", 16, diallable=False), POLICY) is None


def test_only_due_cases_are_called_and_nobody_at_night() -> None:
    old = PendingFollowUp(case_id=7, replied_at=bj("2031-03-01", 10))
    new = PendingFollowUp(case_id=3, replied_at=bj("2031-03-03", 10))
    today = PendingFollowUp(case_id=5, replied_at=bj("2031-03-04", 8))
    items = [today, new, old]
    assert due_now(items, bj("2031-03-04", 10), POLICY) == [old, new], "longest waiting first"
    assert due_now(items, bj("2031-03-04", 20, 30), POLICY) == []
    assert due_now(items, bj("2031-03-05", 8, 59), POLICY) == []
    assert due_now(items, bj("2031-03-05", 9), POLICY) == [old, new, today]


def test_the_policy_comes_from_the_settings() -> None:
    settings = load_settings(environ={}).with_overrides(
        followup_delay_days=2,
        followup_calling_hours="08:30-21:00",
        followup_retry_minutes=30,
        followup_max_attempts=5,
    )
    policy = CallingPolicy.from_settings(settings)
    assert next_call_at(replied("2031-03-03", 16), policy) == bj("2031-03-05", 8, 30)
    assert (policy.retry, policy.max_attempts) == (timedelta(minutes=30), 5)


@pytest.mark.parametrize(
    "hours", ["9-20", "09:00–20:00", "20:00-09:00", "09:00-25:00", "09:60-20:00", ""]
)
def test_bad_calling_hours_are_refused_at_start(hours: str) -> None:
    settings = load_settings(environ={}).with_overrides(followup_calling_hours=hours)
    with pytest.raises(ConfigError, match=r"calling hours|followup_calling_hours"):
        CallingPolicy.from_settings(settings)


def test_bad_attempts_or_retry_are_refused() -> None:
    for fields in ({"max_attempts": 0}, {"retry": timedelta(0)}, {"delay_days": -1}):
        with pytest.raises(ConfigError):
            CallingPolicy(zone=BEIJING, **fields)  # type: ignore[arg-type]
    assert calling_hours(" 09:00-20:00 ") == (POLICY.opens, POLICY.closes)
