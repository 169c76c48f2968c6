"""漏接回拨 attempts on SQLite and PostgreSQL: one agent per number, one result per attempt,
the agent's note and "done", each with its audit entry on the caller's case."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from ivr.db import callback_attempts, calls, cases
from ivr.db.callback_attempts import Target
from ivr.db.callback_views import RESULT_WAIT
from ivr.db.channel_models import CallbackOutcome
from ivr.db.models import CaseEventKind
from ivr.errors import ClaimConflict, RecordNotFound, ValidationError
from tests.test_callback_list import abandoned, answered, case_of, row_of, uniqueid_of
from tests.test_db_calls import Sessions, new_number
from tests.test_db_cases import events_of

pytest_plugins = ["tests.db_fixtures"]
PHONE = "PJSIP/8001"


async def start(db: Sessions, call_id: int, at: datetime, agent: str = "li") -> int:
    """An agent's call back of that call; its attempt id."""
    attempt = await callback_attempts.start_attempt(
        db, Target(call_id=call_id), agent=agent, interface=PHONE, at=at
    )
    return attempt.id


async def test_an_attempt_is_recorded_on_the_case_without_the_number(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0, number = db_sessionmaker, fresh_instant(), new_number()
    call_id = await abandoned(db, number, t0)
    attempt = await callback_attempts.start_attempt(
        db, Target(call_id=call_id), agent="li", interface=PHONE, at=t0 + timedelta(minutes=1)
    )
    assert (attempt.outcome, attempt.number, attempt.agent) == ("placed", number, "li")
    assert attempt.call_id == call_id and attempt.case_id == await case_of(db, call_id)
    placed = [e for e in await events_of(db, attempt.case_id) if e.kind == "callback_placed"]
    assert len(placed) == 1 and placed[0].actor == "li"
    assert placed[0].after == {"attempt_id": attempt.id, "interface": PHONE, "missed": 1}
    assert number not in str(placed[0].after), "a reporter's number stays out of the trail"


async def test_bad_targets_are_refused_and_nothing_is_recorded(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    """Bad input: no such call or case, no target, a withheld number, a caller not owed one."""
    db, t0 = db_sessionmaker, fresh_instant()
    with pytest.raises(RecordNotFound, match="来电"):
        await start(db, 2_000_000_000, t0)
    with pytest.raises(RecordNotFound, match="工单"):
        await callback_attempts.start_attempt(
            db, Target(case_id=2_000_000_000), agent="li", interface=PHONE, at=t0
        )
    with pytest.raises(ValidationError, match="call_id"):
        await callback_attempts.start_attempt(db, Target(), agent="li", interface=PHONE, at=t0)
    withheld = await abandoned(db, "anonymous", t0)
    with pytest.raises(ValidationError, match="号码"):
        await start(db, withheld, t0 + timedelta(minutes=1))
    served = await answered(db, new_number(), t0)
    with pytest.raises(ClaimConflict, match="不在回拨列表"):
        await start(db, served, t0 + timedelta(minutes=1))


async def test_one_agent_at_a_time_per_number_even_when_they_click_together(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0, number = db_sessionmaker, fresh_instant(), new_number()
    call_id = await abandoned(db, number, t0)
    at = t0 + timedelta(minutes=1)
    results = await asyncio.gather(
        start(db, call_id, at, "li"), start(db, call_id, at, "wang"), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, int)]
    lost = [r for r in results if isinstance(r, ClaimConflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "正在回拨" in str(lost[0])
    with pytest.raises(ClaimConflict, match="正在回拨"):
        await start(db, call_id, at + timedelta(minutes=5), "zhao")
    # a result that never came (AMI down when the call ended) stops holding the number
    assert await start(db, call_id, at + RESULT_WAIT + timedelta(seconds=1), "zhao") > won[0]


async def test_the_first_result_counts_and_is_audited_once(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0, number = db_sessionmaker, fresh_instant(), new_number()
    call_id = await abandoned(db, number, t0)
    attempt_id = await start(db, call_id, t0 + timedelta(minutes=1))
    ended = t0 + timedelta(minutes=2)
    details = {"dial_status": "ANSWER", "talk_seconds": 95}
    first = await callback_attempts.finish_attempt(
        db, attempt_id, CallbackOutcome.REACHED, at=ended, details=details
    )
    again = await callback_attempts.finish_attempt(
        db, attempt_id, CallbackOutcome.FAILED, at=ended, details={}
    )
    assert first is not None and first.outcome == "reached" and first.ended_at == ended
    assert again is None
    results = [
        e for e in await events_of(db, await case_of(db, call_id)) if e.kind == "callback_result"
    ]
    assert len(results) == 1 and results[0].actor == "ivr"
    assert results[0].after == {"attempt_id": attempt_id, "outcome": "reached", **details}
    unknown = await callback_attempts.finish_attempt(
        db, 2_000_000_000, CallbackOutcome.REACHED, at=ended, details={}
    )
    assert unknown is None


async def test_the_agents_note_and_done_take_the_caller_off_the_list(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    db, t0, number = db_sessionmaker, fresh_instant(), new_number()
    first = await abandoned(db, number, t0)
    second = await abandoned(db, number, t0 + timedelta(minutes=3))
    attempt_id = await start(db, second, t0 + timedelta(minutes=5))
    with pytest.raises(ClaimConflict, match="尚未结束"):
        await callback_attempts.annotate(
            db, attempt_id, note=None, done=True, actor="li", at=t0 + timedelta(minutes=6)
        )
    noted = await callback_attempts.annotate(
        db, attempt_id, note="  约好明天上午再联系  ", done=False, actor="li", at=t0
    )
    assert noted.note == "约好明天上午再联系"
    await callback_attempts.finish_attempt(
        db, attempt_id, CallbackOutcome.NO_ANSWER, at=t0 + timedelta(minutes=6), details={}
    )
    later = await abandoned(db, number, t0 + timedelta(minutes=8))  # they called while we wrote
    await callback_attempts.annotate(
        db, attempt_id, note=None, done=True, actor="li", at=t0 + timedelta(minutes=9)
    )
    row = await row_of(db, number, t0 + timedelta(minutes=10))
    assert row is not None and [m.call_id for m in row.misses] == [later]
    for call_id in (first, second):
        view = await calls.get_call(db, await uniqueid_of(db, call_id))
        assert view is not None and not view.needs_callback
        case = await cases.get_case(db, await case_of(db, call_id))
        assert not case.needs_callback and case.abandoned, "the history stays"
        done = [e for e in await events_of(db, case.id) if e.kind == CaseEventKind.CALLBACK_RESULT]
        assert done[-1].after == {"needs_callback": False, "attempt_id": attempt_id, "done": True}
        assert done[-1].actor == "li"


async def test_a_note_too_long_or_for_no_attempt_is_refused(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    """Bad input: a note over the limit, an attempt that does not exist."""
    db, t0 = db_sessionmaker, fresh_instant()
    attempt_id = await start(db, await abandoned(db, new_number(), t0), t0)
    with pytest.raises(ValidationError, match="2000"):
        await callback_attempts.annotate(
            db, attempt_id, note="长" * 2001, done=False, actor="li", at=t0
        )
    with pytest.raises(RecordNotFound):
        await callback_attempts.annotate(db, 2_000_000_000, note="x", done=False, actor="li", at=t0)


async def test_a_call_back_whose_result_never_came_can_be_marked_done_once_it_expires(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    """A lost Originate reply leaves the attempt placed; after RESULT_WAIT it may be closed."""
    db, t0, number = db_sessionmaker, fresh_instant(), new_number()
    attempt_id = await start(db, await abandoned(db, number, t0), t0)
    later = t0 + RESULT_WAIT + timedelta(seconds=1)
    done = await callback_attempts.annotate(
        db, attempt_id, note="市民说已有人处理", done=True, actor="li", at=later
    )
    assert done.outcome == "placed" and done.note == "市民说已有人处理"
    assert await row_of(db, number, later) is None
