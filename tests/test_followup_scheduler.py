"""The automatic follow-up scheduler on SQLite and PostgreSQL, with a fake clock and a
stand-in for AMI (the real call through Asterisk: tests/test_followup_loop_asterisk.py):
called the morning after the reply, retried, left to an agent after the last attempt, one
call per attempt however many schedulers run, a new round after rework, and no calls
while AMI is away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import followups, workflow, workflow_close, workflow_handling
from ivr.db.workflow_state import Actor
from ivr.followup.scheduler import FollowUpScheduler
from ivr.settings import Settings, load_settings
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import Party
from tests.followup_fixtures import FakeAmi, replied_case_in
from tests.test_db_cases import events_of
from tests.test_workflow_calendar import bj

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
SETTINGS: Settings = load_settings(environ={}).with_overrides(
    followup_dial="Local/{number}@citizen-sim/n", followup_concurrent_calls=2
)
REPLIED = bj("2031-03-03", 16)  # a Monday afternoon


def scheduler(
    sm: Sessions, ami: FakeAmi, holder: str = "p1", survey_timeout: float = 0.1
) -> FollowUpScheduler:
    """A scheduler with the test's stand-in for AMI (an answered call's survey, which
    nobody runs here, holds the line for `survey_timeout` seconds)."""
    return FollowUpScheduler(sm, ami, SETTINGS, holder=holder, survey_timeout=survey_timeout)


def rung(ami: FakeAmi) -> list[str]:
    """The channels AMI was asked to ring, in order."""
    return [str(fields["Channel"]) for fields in ami.sent]


async def run(job: FollowUpScheduler, at: datetime) -> int:
    """One run at `at`, and the calls it started, to their end."""
    started = await job.run_once(at)
    await job.idle()
    return started


async def test_the_citizen_is_called_the_morning_after_and_retried(
    own_sessionmaker: Sessions,
) -> None:
    sm, ami = own_sessionmaker, FakeAmi()
    case_id = await replied_case_in(sm, SETTINGS, "13800000011", now=REPLIED)
    job = scheduler(sm, ami)
    assert await run(job, bj("2031-03-03", 18)) == 0, "not on the day of the reply"
    assert await run(job, bj("2031-03-04", 8, 30)) == 0, "not before calling hours"
    ami.answer = False  # nobody picks up
    assert await run(job, bj("2031-03-04", 9, 1)) == 1
    assert rung(ami) == ["Local/13800000011@citizen-sim/n"]
    assert await run(job, bj("2031-03-04", 10)) == 0, "the retry waits two hours"
    assert await run(job, bj("2031-03-04", 11, 2)) == 1
    assert await run(job, bj("2031-03-04", 13, 3)) == 1
    assert await followups.round_attempts(sm, case_id) == 3
    assert await run(job, bj("2031-03-05", 10)) == 0, "three tries: an agent's job now"
    kinds = [e.kind for e in await events_of(sm, case_id)]
    assert kinds.count("follow_up_called") == 3 and kinds.count("follow_up_unanswered") == 3


async def test_two_schedulers_never_ring_the_same_citizen_twice(
    own_sessionmaker: Sessions,
) -> None:
    sm, ami = own_sessionmaker, SlowAmi()
    await replied_case_in(sm, SETTINGS, "13800000012", now=REPLIED)
    first, second = scheduler(sm, ami, "p1"), scheduler(sm, ami, "p2")
    at = bj("2031-03-04", 9, 30)
    # a stalled holder and its successor, both deciding at once (the lease is bypassed)
    await asyncio.gather(first.work(at), second.work(at))
    await asyncio.gather(first.idle(), second.idle())
    assert rung(ami) == ["Local/13800000012@citizen-sim/n"]


async def test_a_reworked_case_starts_a_new_round(own_sessionmaker: Sessions) -> None:
    sm, ami = own_sessionmaker, FakeAmi()
    case_id = await replied_case_in(sm, SETTINGS, "13800000013", now=REPLIED)
    ami.answer = False
    job = scheduler(sm, ami)
    for hour in (9, 11, 13):
        await run(job, bj("2031-03-04", hour, 1))
    assert await followups.round_attempts(sm, case_id) == 3
    # the office reopens it after a complaint: nothing to follow up until the next reply
    rules = WorkflowRules.from_settings(SETTINGS)
    office = Actor("office", Party.OFFICE)
    department = Actor("dept", Party.DEPARTMENT, "市城管执法局")
    reopened = bj("2031-03-05", 9)
    await workflow_close.reopen(
        sm, case_id, actor=office, at=reopened, rules=rules, citizen_words="又坏了"
    )
    assert await run(job, bj("2031-03-05", 11)) == 0
    await workflow.accept(sm, case_id, actor=department, at=reopened, rules=rules)
    again = {"result": "已更换灯具", "handler": "李工", "handled_on": "2031-03-05"}
    await workflow_handling.reply(
        sm, case_id, actor=department, at=bj("2031-03-05", 15), rules=rules, **again
    )
    assert await run(job, bj("2031-03-05", 17)) == 0, "the morning after, again"
    assert await run(job, bj("2031-03-06", 9, 1)) == 1, "a new round: three more tries"
    assert await followups.round_attempts(sm, case_id) == 1


async def test_no_calls_while_ami_is_away(own_sessionmaker: Sessions) -> None:
    sm, ami = own_sessionmaker, FakeAmi()
    case_id = await replied_case_in(sm, SETTINGS, "13800000014", now=REPLIED)
    ami.logged_in.clear()
    job = scheduler(sm, ami)
    assert await run(job, bj("2031-03-04", 9, 30)) == 0
    assert await followups.round_attempts(sm, case_id) == 0, "still due once AMI is back"
    ami.logged_in.set()
    assert await run(job, bj("2031-03-04", 9, 31)) == 1


async def test_lines_limit_the_calls_at_once(own_sessionmaker: Sessions) -> None:
    sm, ami = own_sessionmaker, SlowAmi()
    for n in range(3):
        await replied_case_in(sm, SETTINGS, f"1380000002{n}", now=REPLIED)
    job = scheduler(sm, ami)
    assert await job.run_once(bj("2031-03-04", 9, 30)) == 2, "two lines"
    assert await job.run_once(bj("2031-03-04", 9, 31)) == 0, "both still ringing"
    await job.idle()
    assert await job.run_once(bj("2031-03-04", 9, 32)) == 1
    await job.idle()
    assert len(ami.sent) == 3


async def test_a_line_stays_taken_until_the_survey_is_over(own_sessionmaker: Sessions) -> None:
    sm, ami = own_sessionmaker, FakeAmi()
    first = await replied_case_in(sm, SETTINGS, "13800000031", now=REPLIED)
    for n in (2, 3):
        await replied_case_in(sm, SETTINGS, f"1380000003{n}", now=REPLIED)
    job = scheduler(sm, ami, survey_timeout=60)
    assert await job.run_once(bj("2031-03-04", 9, 30)) == 2, "two lines, both answered"
    await asyncio.sleep(0.3)
    assert await job.run_once(bj("2031-03-04", 9, 31)) == 0, "both citizens in their survey"
    # the first citizen hangs up mid-survey (the flow notes it): that line is free again
    await followups.note_unanswered(
        sm, first, at=bj("2031-03-04", 9, 32), reason="hung up during the survey"
    )
    await asyncio.sleep(2.5)
    assert await job.run_once(bj("2031-03-04", 9, 33)) == 1
    for _ in range(50):  # the new call claims its attempt, then rings
        if len(ami.sent) == 3:
            break
        await asyncio.sleep(0.1)
    assert [fields["Channel"] for fields in ami.sent][-1] == "Local/13800000033@citizen-sim/n"
    await job.finish()


class SlowAmi(FakeAmi):
    """Originate that rings a while before the citizen answers."""

    async def action(
        self, fields: Mapping[str, Any], timeout: float = 10, *, as_list: bool | None = None
    ) -> Any:
        await asyncio.sleep(0.2)
        return await super().action(fields, timeout, as_list=as_list)
