"""Call records: every call leaves one, whatever order (and how often) the events arrive."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import calls, cases
from ivr.db.calls import CallView
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.models import Call, Caller, Outcome, Stage

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def new_uniqueid() -> str:
    """An Asterisk-like uniqueid no other test uses."""
    return f"{uuid.uuid4().int % 10**10}.{uuid.uuid4().int % 1000}"


def new_number() -> str:
    """A caller number no other test uses."""
    return f"1{uuid.uuid4().int % 10**10:010d}"


async def rows_for(sm: Sessions, uniqueid: str) -> int:
    """How many call rows carry this uniqueid."""
    async with sm() as session:
        query = select(func.count()).select_from(Call).where(Call.uniqueid == uniqueid)
        return int(await session.scalar(query) or 0)


async def the_call(sm: Sessions, uniqueid: str) -> CallView:
    """The call, which must exist."""
    call = await calls.get_call(sm, uniqueid)
    assert call is not None, f"no record for call {uniqueid}"
    return call


async def test_a_call_first_heard_as_a_hangup_still_leaves_a_record(
    db_sessionmaker: Sessions,
) -> None:
    uid, number = new_uniqueid(), new_number()
    await calls.record_hangup(
        db_sessionmaker,
        uid,
        at=T0,
        cause="Normal Clearing",
        channel="PJSIP/trunk-01",
        caller_number=number,
    )
    call = await the_call(db_sessionmaker, uid)
    assert call.outcome is Outcome.HUNG_UP_IN_IVR
    assert call.stage is Stage.ENDED
    assert (call.started_at, call.ended_at) == (T0, T0)
    assert (call.channel, call.caller_number, call.hangup_cause) == (
        "PJSIP/trunk-01",
        number,
        "Normal Clearing",
    )


async def test_open_call_is_idempotent_and_counts_the_caller_once(
    db_sessionmaker: Sessions,
) -> None:
    uid, number = new_uniqueid(), new_number()
    opened = {
        await calls.open_call(
            db_sessionmaker, uniqueid=uid, channel="PJSIP/a", caller_number=number, started_at=T0
        )
        for _ in range(3)
    }
    assert len(opened) == 1
    assert await rows_for(db_sessionmaker, uid) == 1
    async with db_sessionmaker() as session:
        caller = await session.scalar(select(Caller).where(Caller.number == number))
    assert caller is not None
    assert (caller.call_count, caller.first_seen_at, caller.last_call_at) == (1, T0, T0)


async def test_racing_writers_create_one_row(database_url: str) -> None:
    # The AGI flow and AMI handlers of two processes all learn of the call at once.
    engines = [make_engine(database_url) for _ in range(4)]
    makers = [make_sessionmaker(e) for e in engines]
    uid, number = new_uniqueid(), new_number()
    writers: list[Awaitable[object]] = []
    for sm in makers:
        writers.append(
            calls.open_call(
                sm, uniqueid=uid, channel="PJSIP/a", caller_number=number, started_at=T0
            )
        )
        writers.append(calls.record_queue_join(sm, uid, at=T0 + timedelta(seconds=5), queue="q"))
    try:
        await asyncio.gather(*writers)
        assert await rows_for(makers[0], uid) == 1
        async with makers[0]() as session:
            caller = await session.scalar(select(Caller).where(Caller.number == number))
        assert caller is not None and caller.call_count == 1
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))


async def test_caller_history_counts_calls_in_any_order(db_sessionmaker: Sessions) -> None:
    number = new_number()
    for minutes in (30, 0, 10):
        at = T0 + timedelta(minutes=minutes)
        await calls.record_hangup(
            db_sessionmaker, new_uniqueid(), at=at, cause=None, caller_number=number
        )
    async with db_sessionmaker() as session:
        caller = await session.scalar(select(Caller).where(Caller.number == number))
    assert caller is not None
    assert caller.call_count == 3
    assert caller.first_seen_at == T0
    assert caller.last_call_at == T0 + timedelta(minutes=30)


async def test_stage_only_moves_forward(db_sessionmaker: Sessions) -> None:
    uid = new_uniqueid()
    await calls.set_stage(db_sessionmaker, uid, "queue", queue_joined_at=T0, via_fallback=True)
    await calls.set_stage(db_sessionmaker, uid, "recording")
    call = await the_call(db_sessionmaker, uid)
    assert call.stage is Stage.QUEUE
    assert call.via_fallback
    assert call.queue_joined_at == T0


async def test_flow_can_mark_a_call_failed(db_sessionmaker: Sessions) -> None:
    uid = new_uniqueid()
    await calls.set_stage(db_sessionmaker, uid, "intake", failed=True)
    await calls.record_hangup(db_sessionmaker, uid, at=T0, cause=None)
    assert (await the_call(db_sessionmaker, uid)).outcome is Outcome.FAILED


async def test_recordings_are_kept_even_when_the_caller_hung_up(
    db_sessionmaker: Sessions,
) -> None:
    uid = new_uniqueid()
    path = f"calls/2026/11/27/{uid}.wav"
    first = await calls.attach_recording(
        db_sessionmaker, uid, path=path, sample_rate=8000, duration_seconds=2.5, complete=False
    )
    again = await calls.attach_recording(
        db_sessionmaker, uid, path=path, sample_rate=8000, duration_seconds=2.5, complete=False
    )
    call = await the_call(db_sessionmaker, uid)
    assert first == again
    assert call.stage is Stage.RECORDING
    assert [(r.path, r.complete, r.duration_seconds) for r in call.recordings] == [
        (path, False, 2.5)
    ]


# One scripted call: each event at a fixed moment, so any delivery order means the same.
AGENT = "Local/8001@agents-sim"
EVENTS: dict[str, Callable[[Sessions, str], Awaitable[None]]] = {
    "join": lambda sm, u: calls.record_queue_join(
        sm, u, at=T0 + timedelta(seconds=10), queue="hotline-agents"
    ),
    "called": lambda sm, u: calls.record_agent_called(
        sm, u, at=T0 + timedelta(seconds=15), agent=AGENT
    ),
    "connect": lambda sm, u: calls.record_agent_connect(
        sm, u, at=T0 + timedelta(seconds=30), agent=AGENT, hold_seconds=20
    ),
    "complete": lambda sm, u: calls.record_agent_complete(
        sm, u, at=T0 + timedelta(seconds=90), talk_seconds=60, reason="caller"
    ),
    "abandon": lambda sm, u: calls.record_abandon(
        sm, u, at=T0 + timedelta(seconds=40), wait_seconds=30
    ),
    "hangup": lambda sm, u: calls.record_hangup(
        sm, u, at=T0 + timedelta(seconds=95), cause="Normal Clearing"
    ),
}
SCENARIOS = {
    "answered": ("join", "called", "connect", "complete", "hangup"),
    "abandoned": ("join", "called", "abandon", "hangup"),
    "hung_up_in_ivr": ("hangup",),
    "contradictory": tuple(EVENTS),  # answered wins: an agent did talk to the caller
}
EXPECTED = {
    "answered": (Outcome.ANSWERED, AGENT, 20.0, 60.0),
    "abandoned": (Outcome.ABANDONED, AGENT, 30.0, None),
    "hung_up_in_ivr": (Outcome.HUNG_UP_IN_IVR, None, None, None),
    "contradictory": (Outcome.ANSWERED, AGENT, 20.0, 60.0),
}


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A scenario, and its events in some order with some of them repeated."""
    scenario = draw(st.sampled_from(sorted(SCENARIOS)))
    events = list(draw(st.permutations(SCENARIOS[scenario])))
    for repeat in draw(st.lists(st.sampled_from(SCENARIOS[scenario]), max_size=3)):
        events.insert(draw(st.integers(0, len(events))), repeat)
    return scenario, events


@settings(
    max_examples=30,
    deadline=None,
    # One database serves every example; each example uses its own uniqueid.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(delivery=deliveries())
async def test_events_in_any_order_end_in_one_consistent_record(
    db_sessionmaker: Sessions, delivery: tuple[str, list[str]]
) -> None:
    scenario, events = delivery
    uid, number = new_uniqueid(), new_number()
    case_id = await cases.create_draft(
        db_sessionmaker,
        call_uniqueid=uid,
        caller_number=number,
        transcript="路灯坏了",
        transcript_available=True,
        category="市政",
        department="城管局",
        priority="normal",
        summary="路灯坏了",
        address=None,
        contact_phone=None,
        at=T0,
    )
    for event in events:
        await EVENTS[event](db_sessionmaker, uid)
    call = await the_call(db_sessionmaker, uid)
    outcome, agent, wait, talk = EXPECTED[scenario]
    assert await rows_for(db_sessionmaker, uid) == 1
    assert (call.outcome, call.agent, call.wait_seconds, call.talk_seconds) == (
        outcome,
        agent,
        wait,
        talk,
    )
    assert call.stage is Stage.ENDED
    assert call.ended_at == T0 + timedelta(seconds=95)
    assert call.needs_callback == (outcome is Outcome.ABANDONED)
    case = await cases.get_case(db_sessionmaker, case_id)
    assert (case.abandoned, case.needs_callback) == (call.needs_callback,) * 2


async def test_waits_are_measured_when_asterisk_does_not_say(db_sessionmaker: Sessions) -> None:
    uid = new_uniqueid()
    await calls.record_queue_join(db_sessionmaker, uid, at=T0, queue="q")
    await calls.record_hangup(db_sessionmaker, uid, at=T0 + timedelta(seconds=42), cause=None)
    await calls.record_abandon(
        db_sessionmaker, uid, at=T0 + timedelta(seconds=41), wait_seconds=None
    )
    call = await the_call(db_sessionmaker, uid)
    assert (call.outcome, call.wait_seconds, call.needs_callback) == (
        Outcome.ABANDONED,
        42.0,
        True,
    )


async def test_abandoned_call_flags_its_case_once(db_sessionmaker: Sessions) -> None:
    uid = new_uniqueid()
    case_id = await cases.create_draft(
        db_sessionmaker,
        call_uniqueid=uid,
        caller_number=new_number(),
        transcript="",
        transcript_available=False,
        category="其他",
        department="",
        priority="normal",
        summary="",
        address=None,
        contact_phone=None,
    )
    for _ in range(2):
        await calls.record_abandon(db_sessionmaker, uid, at=T0, wait_seconds=12)
        await calls.record_hangup(db_sessionmaker, uid, at=T0, cause=None)
    case = await cases.get_case(db_sessionmaker, case_id)
    assert (case.abandoned, case.needs_callback) == (True, True)
    assert case.events == 2  # created, then call_abandoned once


async def test_unknown_call_is_none(db_sessionmaker: Sessions) -> None:
    assert await calls.get_call(db_sessionmaker, new_uniqueid()) is None


@pytest.mark.parametrize("stage", ["nowhere", ""])
async def test_unknown_stage_is_refused(db_sessionmaker: Sessions, stage: str) -> None:
    with pytest.raises(ValueError, match="is not a valid Stage"):
        await calls.set_stage(db_sessionmaker, new_uniqueid(), stage)
