"""领导接听日 through the real Asterisk 22 and the real ivr runtime.

A shift in the schedule (the same tables the office edits) puts a simulated leader on duty:
Local/91XX@leaders-sim answers, 92XX never answers, 93XX answers and stays on the line (a
busy desk). Each test checks where the call went and what the case says about it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from ivr.app import IvrRuntime
from ivr.db import calls, cases, duty, users
from ivr.db.console_models import ScreenPop
from ivr.db.models import CaseEventKind
from ivr.duty.model import Shift
from ivr.sim.calls import CallScript, SimCall
from tests.stack import Citizens, eventually
from tests.test_db_cases import events_of

pytestmark = pytest.mark.asterisk

CALL_TIMEOUT = 90.0


@asynccontextmanager
async def on_duty(runtime: IvrRuntime, endpoint: str) -> AsyncIterator[str]:
    """A leader on `endpoint` on duty from now for up to an hour; the leader's name."""
    assert runtime.services is not None
    db, zone = runtime.services.db, ZoneInfo(runtime.settings.timezone)
    now = datetime.now(ZoneInfo("UTC"))
    midnight = (now.astimezone(zone) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    name = f"市领导{uuid.uuid4().hex[:4]}"
    leader = await duty.create_leader(
        db, name=name, title="副市长", endpoints=[endpoint], actor="test", at=now
    )
    draft = Shift(0, leader.id, now, min(now + timedelta(hours=1), midnight))
    shift = await duty.create_shift(db, draft, actor="test", now=now, zone=zone)
    try:
        yield name
    finally:
        # the runtime is shared: later tests must find nobody on duty
        later = datetime.now(ZoneInfo("UTC"))
        await duty.delete_shift(db, shift.id, actor="test", now=later, zone=zone)


async def _call(citizens: Citizens, **script: object) -> SimCall:
    call = await citizens.sim.place(CallScript(**script))  # type: ignore[arg-type]
    await citizens.sim.wait_ended(call, CALL_TIMEOUT)
    return call


async def _kinds(runtime: IvrRuntime, uniqueid: str) -> list[str]:
    """The case's audit trail, once the call record is closed."""
    assert runtime.services is not None
    db = runtime.services.db

    async def closed() -> bool:
        view = await calls.get_call(db, uniqueid)
        return view is not None and view.ended_at is not None

    await eventually(closed, 15, "the call record closed")
    case = await cases.case_for_call(db, uniqueid)
    assert case is not None
    return [e.kind for e in await events_of(db, case.id)]


def _queues(citizens: Citizens, uniqueid: str, event: str) -> list[str]:
    return [e.get("Queue", "") for e in citizens.events_for(uniqueid, event)]


async def test_on_a_duty_day_the_leader_answers_with_the_case_on_their_console(
    runtime: IvrRuntime, citizens: Citizens, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runtime.services is not None
    db = runtime.services.db
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    endpoint = "Local/9101@leaders-sim/n"
    console = f"leader-{uuid.uuid4().hex[:6]}"
    await users.create_user(db, console, "leader password 1", "leader", interface=endpoint)
    async with on_duty(runtime, endpoint):
        call = await _call(citizens, caller="13800138101", keys="0", delay_seconds=0.5)
    leader_desk = runtime.settings.leader_queue_name
    assert _queues(citizens, call.uniqueid, "AgentConnect") == [leader_desk]
    kinds = await _kinds(runtime, call.uniqueid)
    assert CaseEventKind.LEADER_ROUTED in kinds and CaseEventKind.LEADER_ANSWERED in kinds
    case = await cases.case_for_call(db, call.uniqueid)
    assert case is not None and case.leader_handled
    # the pop went to the leader's console (AgentCalled on the desk, member = the endpoint)
    assert console in await _pop_users(runtime, case.id)


async def test_a_leader_who_does_not_answer_leaves_the_call_to_the_agents(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    async with on_duty(runtime, "Local/9201@leaders-sim/n"):
        call = await _call(citizens, caller="13800138102", keys="0", delay_seconds=0.5)
    joined = _queues(citizens, call.uniqueid, "QueueCallerJoin")
    assert joined == [runtime.settings.leader_queue_name, runtime.settings.queue_name]
    assert _queues(citizens, call.uniqueid, "AgentConnect") == [runtime.settings.queue_name]
    kinds = await _kinds(runtime, call.uniqueid)
    assert CaseEventKind.LEADER_FELL_BACK in kinds
    assert CaseEventKind.LEADER_ANSWERED not in kinds


async def test_outside_a_shift_the_call_goes_to_the_agents(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    call = await _call(citizens, caller="13800138103", keys="0", delay_seconds=0.5)
    assert _queues(citizens, call.uniqueid, "QueueCallerJoin") == [runtime.settings.queue_name]
    kinds = await _kinds(runtime, call.uniqueid)
    assert not [k for k in kinds if k.startswith("leader")]


async def test_a_busy_leader_desk_sends_callers_on_and_takes_callback_requests(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    assert runtime.services is not None
    desk = runtime.settings.leader_queue_name
    async with on_duty(runtime, "Local/9301@leaders-sim/n"):  # answers, stays 60 s
        first = await citizens.sim.place(
            CallScript(caller="13800138104", keys="0", delay_seconds=0.5, stay_seconds=40)
        )

        async def leader_talking() -> bool:
            return _queues(citizens, first.uniqueid, "AgentConnect") == [desk]

        await eventually(leader_talking, 40, "the leader on the first call")
        # the second caller asks for a call back (1 during the busy prompt)
        second = await _call(
            citizens,
            caller="13800138105",
            keys="0",
            delay_seconds=0.5,
            then_keys="1",
            then_delay=9.0,
        )
        # the third just waits: straight on to the agents, not to the leader's desk
        third = await _call(citizens, caller="13800138106", keys="0", delay_seconds=0.5)
    await citizens.sim.wait_ended(first, CALL_TIMEOUT)

    second_kinds = await _kinds(runtime, second.uniqueid)
    assert CaseEventKind.LEADER_BUSY in second_kinds
    assert CaseEventKind.CALLBACK_REQUESTED in second_kinds
    assert _queues(citizens, second.uniqueid, "QueueCallerJoin") == []
    callback = await cases.case_for_call(runtime.services.db, second.uniqueid)
    assert callback is not None and callback.needs_callback

    assert CaseEventKind.LEADER_BUSY in await _kinds(runtime, third.uniqueid)
    assert _queues(citizens, third.uniqueid, "QueueCallerJoin") == [runtime.settings.queue_name]


async def _pop_users(runtime: IvrRuntime, case_id: int) -> set[str]:
    """Everyone the case popped for, open or closed."""
    assert runtime.services is not None
    query = select(ScreenPop.username).where(ScreenPop.case_id == case_id)
    async with runtime.services.db() as session:
        return set(await session.scalars(query))
