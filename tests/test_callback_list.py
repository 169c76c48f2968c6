"""漏接回拨 list on SQLite and PostgreSQL: who is owed a call back, and who stops being owed one.

Calls are written the way the AMI handlers write them (ivr.db.calls), so the list reads what a
real abandoned call leaves behind. The helpers here are shared by the other call-back tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update

from ivr.db import callback_attempts, calls, cases, leader_calls
from ivr.db.callback_attempts import Target
from ivr.db.callback_views import CallbackRow, MissKind
from ivr.db.callbacks import LOOK_BACK, callback_list
from ivr.db.channel_models import CallbackOutcome
from ivr.db.models import Call, Case, CaseEventKind
from tests.test_db_calls import Sessions, new_number

pytest_plugins = ["tests.db_fixtures"]


async def drafted_call(db: Sessions, number: str, at: datetime) -> tuple[int, int]:
    """A call that reached the IVR and got its draft: (call id, case id)."""
    uniqueid = f"cb-{uuid.uuid4().hex[:16]}"
    call_id = await calls.open_call(
        db, uniqueid=uniqueid, channel="PJSIP/trunk-1", caller_number=number, started_at=at
    )
    case_id = await cases.create_draft(
        db,
        call_uniqueid=uniqueid,
        caller_number=number,
        transcript="",
        transcript_available=False,
        category="other",
        department="",
        priority="normal",
        summary="楼道灯坏了",
        address=None,
        contact_phone=None,
        at=at + timedelta(seconds=1),
    )
    await calls.record_queue_join(db, uniqueid, at=at + timedelta(seconds=5), queue="q")
    return call_id, case_id


async def abandoned(db: Sessions, number: str, at: datetime, *, wait: float = 12.0) -> int:
    """A caller who hung up while waiting in the queue; the call's id."""
    call_id, _ = await drafted_call(db, number, at)
    uniqueid = await uniqueid_of(db, call_id)
    gave_up = at + timedelta(seconds=5 + wait)
    await calls.record_abandon(db, uniqueid, at=gave_up, wait_seconds=wait)
    await calls.record_hangup(db, uniqueid, at=gave_up, cause="Normal Clearing")
    return call_id


async def answered(db: Sessions, number: str, at: datetime) -> int:
    """A caller an agent answered; the call's id."""
    call_id, _ = await drafted_call(db, number, at)
    uniqueid = await uniqueid_of(db, call_id)
    await calls.record_agent_connect(
        db, uniqueid, at=at + timedelta(seconds=9), agent="8001", hold_seconds=4
    )
    await calls.record_hangup(db, uniqueid, at=at + timedelta(seconds=60), cause="Normal")
    return call_id


async def case_of(db: Sessions, call_id: int) -> int:
    """The draft of a call."""
    view = await cases.case_for_call(db, await uniqueid_of(db, call_id))
    assert view is not None
    return view.id


async def uniqueid_of(db: Sessions, call_id: int) -> str:
    """The Asterisk uniqueid of a call record."""
    async with db() as session:
        found = await session.get(Call, call_id)
        assert found is not None
        return found.uniqueid


async def row_of(db: Sessions, number: str, now: datetime) -> CallbackRow | None:
    """The number's row on the list, if any."""
    return next((r for r in await callback_list(db, now=now) if r.number == number), None)


async def test_a_caller_who_gave_up_in_the_queue_is_listed_once_with_every_attempt(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0, number = db_sessionmaker, fresh_instant(), new_number()
    first = await abandoned(db, number, t0, wait=12)
    second = await abandoned(db, number, t0 + timedelta(minutes=10), wait=40)
    row = await row_of(db, number, t0 + timedelta(minutes=20))
    assert row is not None
    assert [m.call_id for m in row.misses] == [second, first], "most recent first"
    assert row.gave_up == 2 and {m.kind for m in row.misses} == {MissKind.QUEUE}
    assert [m.wait_seconds for m in row.misses] == [40, 12]
    assert row.cases[0].id == await case_of(db, second) and row.attempts == ()


async def test_the_list_is_most_recent_first_and_leaves_out_numbers_nobody_can_dial(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0 = db_sessionmaker, fresh_instant()
    older, newer = new_number(), new_number()
    await abandoned(db, older, t0)
    await abandoned(db, newer, t0 + timedelta(minutes=1))
    for unusable in ("anonymous", "", "12", "138 0000 1234"):
        await abandoned(db, unusable, t0 + timedelta(minutes=2))
    numbers = [row.number for row in await callback_list(db, now=t0 + timedelta(minutes=3))]
    assert numbers.index(newer) < numbers.index(older)
    assert not {"anonymous", "", "12", "138 0000 1234"} & set(numbers)


async def test_a_later_answered_call_settles_the_earlier_misses_only(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0, number = db_sessionmaker, fresh_instant(), new_number()
    await abandoned(db, number, t0)
    await answered(db, number, t0 + timedelta(minutes=5))
    assert await row_of(db, number, t0 + timedelta(minutes=10)) is None
    again = await abandoned(db, number, t0 + timedelta(minutes=30))
    row = await row_of(db, number, t0 + timedelta(minutes=40))
    assert row is not None and [m.call_id for m in row.misses] == [again]


async def test_a_leader_day_call_back_request_is_listed_without_a_queue_miss(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0, number = db_sessionmaker, fresh_instant(), new_number()
    _, case_id = await drafted_call(db, number, t0)
    await leader_calls.note_leader_event(
        db,
        case_id,
        CaseEventKind.CALLBACK_REQUESTED,
        at=t0 + timedelta(seconds=30),
        details={"leader": "李市长"},
        flags={"needs_callback": True},
    )
    row = await row_of(db, number, t0 + timedelta(minutes=1))
    assert row is not None and [m.kind for m in row.misses] == [MissKind.REQUESTED]
    assert row.gave_up == 0 and row.misses[0].case is not None
    assert row.misses[0].case.id == case_id


async def test_a_draft_an_agent_unticked_and_old_misses_are_off_the_list(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0 = db_sessionmaker, fresh_instant()
    unticked, old = new_number(), new_number()
    call_id = await abandoned(db, unticked, t0)
    async with db.begin() as session:
        case_id = await case_of(db, call_id)
        await session.execute(update(Case).where(Case.id == case_id).values(needs_callback=False))
    await abandoned(db, old, t0 - LOOK_BACK - timedelta(minutes=1))
    assert await row_of(db, unticked, t0) is None
    assert await row_of(db, old, t0) is None


async def test_a_call_back_that_reached_them_takes_them_off_and_a_failed_one_does_not(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0 = db_sessionmaker, fresh_instant()
    reached, unreached = new_number(), new_number()
    outcomes = {reached: CallbackOutcome.REACHED, unreached: CallbackOutcome.NO_ANSWER}
    for number, outcome in outcomes.items():
        call_id = await abandoned(db, number, t0)
        attempt = await callback_attempts.start_attempt(
            db, Target(call_id=call_id), agent="li", interface="PJSIP/8001", at=t0 + _min(5)
        )
        await callback_attempts.finish_attempt(db, attempt.id, outcome, at=t0 + _min(6), details={})
    assert await row_of(db, reached, t0 + _min(10)) is None
    row = await row_of(db, unreached, t0 + _min(10))
    assert row is not None and [a.outcome for a in row.attempts] == [CallbackOutcome.NO_ANSWER]


def _min(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)
