"""Call records: one row per Asterisk uniqueid, written by the AGI flow and by AMI events.

Events arrive in any order and more than once (AMI and the AGI flow race; several ivr
processes may each hear the same event). So every writer creates the row if it is missing,
locks it, records only the facts it brings (timestamps keep their earliest value), and
`Call.settle` recomputes the outcome from all the facts: who came first never matters.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession, async_object_session, async_sessionmaker

from ivr.db.engine import dialect_insert, utcnow
from ivr.db.models import (
    Call,
    Caller,
    Case,
    Outcome,
    Recording,
    RecordingKind,
    Stage,
    snapshot,
)

Sessions = async_sessionmaker[AsyncSession]


@dataclasses.dataclass(frozen=True)
class RecordingView:
    """A recording of a call, as stored."""

    id: int
    path: str
    kind: str
    sample_rate: int
    duration_seconds: float
    complete: bool
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class CallView:
    """A snapshot of a call record (not tied to a session)."""

    id: int
    uniqueid: str
    channel: str | None
    caller_number: str | None
    started_at: datetime
    stage: Stage
    via_fallback: bool
    queue: str | None
    queue_joined_at: datetime | None
    agent_called_at: datetime | None
    agent: str | None
    answered_at: datetime | None
    completed_at: datetime | None
    complete_reason: str | None
    abandoned_at: datetime | None
    ended_at: datetime | None
    wait_seconds: float | None
    talk_seconds: float | None
    outcome: Outcome
    hangup_cause: str | None
    needs_callback: bool
    case_id: int | None
    recordings: tuple[RecordingView, ...] = ()


async def open_call(
    sm: Sessions,
    *,
    uniqueid: str,
    channel: str,
    caller_number: str | None,
    started_at: datetime,
    stage: str = Stage.INTAKE,
) -> int:
    """Create the call record if missing (idempotent), count the caller, return its id."""
    known = {"channel": channel, "caller_number": caller_number}
    async with _updating(sm, uniqueid, at=started_at, stage=Stage(stage), **known) as call:
        return call.id


async def set_stage(
    sm: Sessions,
    uniqueid: str,
    stage: str,
    *,
    at: datetime | None = None,
    channel: str | None = None,
    caller_number: str | None = None,
    via_fallback: bool = False,
    queue_joined_at: datetime | None = None,
    answered_at: datetime | None = None,
    agent: str | None = None,
    failed: bool = False,
) -> None:
    """Move the call forward to `stage` (never back); `failed` marks a flow that gave up."""
    target, at = Stage(stage), at or utcnow()
    # Reaching the queue or an agent implies the event that got the call there.
    joined = queue_joined_at or (at if target is Stage.QUEUE else None)
    answered = answered_at or (at if target is Stage.AGENT else None)
    known = {"channel": channel, "caller_number": caller_number}
    async with _updating(sm, uniqueid, at=at, stage=target, **known) as call:
        if joined is not None:
            call.queue_joined_at = _earliest(call.queue_joined_at, joined)
        if answered is not None:
            call.answered_at = _earliest(call.answered_at, answered)
        call.via_fallback = call.via_fallback or via_fallback
        call.agent = call.agent or agent
        if failed:
            call.outcome = Outcome.FAILED.value


async def attach_recording(
    sm: Sessions,
    uniqueid: str,
    *,
    path: str,
    sample_rate: int,
    duration_seconds: float,
    complete: bool,
    kind: str = RecordingKind.REQUEST,
    at: datetime | None = None,
) -> int:
    """Store a recording of the call (once per path; a repeat updates it) and return its id."""
    at = at or utcnow()
    async with _updating(sm, uniqueid, at=at, stage=Stage.RECORDING) as call:
        session = async_object_session(call)
        assert session is not None, "a locked call belongs to the session that locked it"
        found = await session.scalars(
            select(Recording).where(Recording.call_id == call.id, Recording.path == path)
        )
        recording = found.one_or_none() or Recording(call_id=call.id, path=path, created_at=at)
        recording.kind = str(kind)
        recording.sample_rate = sample_rate
        recording.duration_seconds = duration_seconds
        recording.complete = complete
        session.add(recording)
        await session.flush()
        return recording.id


async def record_queue_join(
    sm: Sessions, uniqueid: str, *, at: datetime, queue: str, via_fallback: bool = False
) -> None:
    """QueueCallerJoin: the caller entered the agent queue (via the IVR or the fallback)."""
    async with _updating(sm, uniqueid, at=at, stage=Stage.QUEUE) as call:
        call.queue = call.queue or queue
        call.queue_joined_at = _earliest(call.queue_joined_at, at)
        call.via_fallback = call.via_fallback or via_fallback


async def record_agent_called(sm: Sessions, uniqueid: str, *, at: datetime, agent: str) -> None:
    """AgentCalled: an agent's phone rings for this caller."""
    async with _updating(sm, uniqueid, at=at, stage=Stage.QUEUE) as call:
        call.agent_called_at = _earliest(call.agent_called_at, at)
        if call.answered_at is None:  # the agent who answers wins over those who rang
            call.agent = agent


async def record_agent_connect(
    sm: Sessions, uniqueid: str, *, at: datetime, agent: str, hold_seconds: float | None
) -> None:
    """AgentConnect: an agent answered; the hold time Asterisk reports is the wait."""
    async with _updating(sm, uniqueid, at=at, stage=Stage.AGENT) as call:
        call.answered_at = _earliest(call.answered_at, at)
        call.agent = agent
        call.wait_seconds = hold_seconds


async def record_agent_complete(
    sm: Sessions, uniqueid: str, *, at: datetime, talk_seconds: float | None, reason: str | None
) -> None:
    """AgentComplete: the conversation with the agent ended (`reason`: who hung up)."""
    async with _updating(sm, uniqueid, at=at, stage=Stage.AGENT) as call:
        call.completed_at = _earliest(call.completed_at, at)
        call.complete_reason = call.complete_reason or reason
        call.talk_seconds = talk_seconds


async def record_abandon(
    sm: Sessions, uniqueid: str, *, at: datetime, wait_seconds: float | None
) -> None:
    """QueueCallerAbandon: the caller gave up waiting; flag the call and its case for callback."""
    async with _updating(sm, uniqueid, at=at, stage=Stage.QUEUE) as call:
        call.abandoned_at = _earliest(call.abandoned_at, at)
        if call.answered_at is None:  # an agent's reported hold time is the better figure
            call.wait_seconds = wait_seconds


async def record_hangup(
    sm: Sessions,
    uniqueid: str,
    *,
    at: datetime,
    cause: str | None,
    channel: str | None = None,
    caller_number: str | None = None,
) -> None:
    """Hangup: close the call record, creating it if this is the first we hear of the call."""
    known = {"channel": channel, "caller_number": caller_number}
    async with _updating(sm, uniqueid, at=at, stage=Stage.ENDED, **known) as call:
        call.ended_at = _earliest(call.ended_at, at)
        call.hangup_cause = call.hangup_cause or cause


async def get_call(sm: Sessions, uniqueid: str) -> CallView | None:
    """A snapshot of the call and its recordings, or None when there is no such call."""
    async with sm() as session:
        call = await session.scalar(select(Call).where(Call.uniqueid == uniqueid))
        if call is None:
            return None
        found = await session.scalars(
            select(Recording).where(Recording.call_id == call.id).order_by(Recording.id)
        )
        recordings = tuple(snapshot(RecordingView, r) for r in found)
        stage, outcome = Stage(call.stage), Outcome(call.outcome)
        return snapshot(CallView, call, stage=stage, outcome=outcome, recordings=recordings)


async def lock_call(
    session: AsyncSession,
    uniqueid: str,
    *,
    at: datetime,
    channel: str | None = None,
    caller_number: str | None = None,
) -> Call:
    """The call row, created if missing, locked until the transaction ends (ivr.db only)."""
    await session.execute(
        dialect_insert(session, Call.__table__)
        .values(uniqueid=uniqueid, started_at=at)
        .on_conflict_do_nothing(index_elements=["uniqueid"])
    )
    query = select(Call).where(Call.uniqueid == uniqueid).with_for_update()
    call = (await session.scalars(query)).one()
    call.started_at = min(call.started_at, at)  # the earliest thing heard is the start
    call.channel = call.channel or channel
    if caller_number and not call.caller_number:
        # Counted once per call: only the writer that first learns the number counts it.
        call.caller_number = caller_number
        await _count_caller(session, caller_number, call.started_at)
    return call


@contextlib.asynccontextmanager
async def _updating(
    sm: Sessions, uniqueid: str, *, at: datetime, stage: Stage, **known: str | None
) -> AsyncIterator[Call]:
    # One transaction per event: lock the row, let the caller add its facts, then move
    # the stage forward and recompute what the facts add up to.
    async with sm.begin() as session:
        call = await lock_call(session, uniqueid, at=at, **known)
        yield call
        call.advance(stage)
        call.settle()
        if call.case_id is not None:
            await _follow_case(session, call.case_id, Outcome(call.outcome), at)


async def _follow_case(session: AsyncSession, case_id: int, outcome: Outcome, at: datetime) -> None:
    if outcome not in (Outcome.ABANDONED, Outcome.ANSWERED):
        return
    linked = await session.get(Case, case_id, with_for_update=True)
    event = linked.follow_call(outcome, at) if linked is not None else None
    if event is not None:
        session.add(event)


async def _count_caller(session: AsyncSession, number: str, at: datetime) -> None:
    table = Caller.__table__
    stmt = dialect_insert(session, table).values(
        number=number, first_seen_at=at, last_call_at=at, call_count=1
    )
    # Writers learn of calls out of order: keep the extremes, not the last one counted.
    new, old = stmt.excluded, table.c
    latest = case((new.last_call_at > old.last_call_at, new.last_call_at), else_=old.last_call_at)
    first = case(
        (new.first_seen_at < old.first_seen_at, new.first_seen_at), else_=old.first_seen_at
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[old.number],
        set_={"call_count": old.call_count + 1, "last_call_at": latest, "first_seen_at": first},
    )
    await session.execute(stmt)


def _earliest(current: datetime | None, new: datetime) -> datetime:
    """The earlier of a recorded time (if any) and a newly reported one."""
    return new if current is None else min(current, new)
