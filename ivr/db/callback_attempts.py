"""漏接回拨 attempts: claiming a number for one agent's call back, its result, the agent's note.

One agent at a time per number, on either backend: the check for a call back in progress and
the new attempt are one transaction that first takes the number's lock (PostgreSQL: an
advisory lock on the number; SQLite: every transaction begins IMMEDIATE, ivr.db.engine).
The result is written once, however many ivr processes hear Asterisk report it: only a
`placed` attempt takes one. Each step leaves an audit entry on the caller's case, if any.
Who may call a reporter (举报) back, and through what, is the caller's rule (`MayCall`); a
call back it refuses is refused in the same words as one not owed, which tells who reported
no more than the list does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db import callback_views, callbacks
from ivr.db.callback_views import AttemptView, CallbackRow, CaseBrief
from ivr.db.calls import Sessions
from ivr.db.channel_models import CallbackAttempt, CallbackOutcome
from ivr.db.models import Call, Case, CaseEvent, CaseEventKind
from ivr.errors import ClaimConflict, RecordNotFound, ValidationError

NOTE_LIMIT = 2000
SYSTEM = "ivr"  # the actor of results Asterisk reports
# The first key of the two-key advisory locks taken per number (any fixed 32-bit number).
_LOCK_SPACE = 12345_05
NOT_OWED = "该号码已不在回拨列表中：已回拨接通、再次来电已接通或已办结"


@dataclasses.dataclass(frozen=True)
class Target:
    """What an agent clicked: a missed call, or a case flagged for a call back."""

    call_id: int | None = None
    case_id: int | None = None


# Whether this call back may go ahead: the reports (举报) filed from the number, the target.
MayCall = Callable[[Sequence[CaseBrief], Target], bool]


def anyone(_reports: Sequence[CaseBrief], _target: Target) -> bool:
    """No rule of who may call back (tests, tools without a viewer)."""
    return True


async def start_attempt(
    sm: Sessions,
    target: Target,
    *,
    agent: str,
    interface: str,
    at: datetime,
    may_call: MayCall = anyone,
) -> AttemptView:
    """Record a call back as placed, unless the number is not owed one (or not to this
    agent: `may_call`) or is being called."""
    async with sm.begin() as session:
        number = await _number_of(session, target)
        if not callbacks.diallable(number):
            raise ValidationError("该来电没有可回拨的号码（未显示号码或号码不完整）")
        await _lock_number(session, number)
        row = await callbacks.pending_row(session, number, now=at)
        if row is None or not may_call(await _reports(session, row), target):
            raise ClaimConflict(NOT_OWED)
        busy = await callback_views.attempt_in_progress(session, number, now=at)
        if busy is not None:
            raise ClaimConflict(f"话务员 {busy.agent} 正在回拨该号码，请勿重复回拨")
        latest = row.misses[0]  # the attempt is filed with the latest miss and its case
        attempt = CallbackAttempt(
            call_id=latest.call_id,
            case_id=latest.case.id if latest.case else None,
            number=number,
            agent=agent,
            interface=interface,
            started_at=at,
            outcome=CallbackOutcome.PLACED.value,
        )
        session.add(attempt)
        await session.flush()
        details = {"attempt_id": attempt.id, "interface": interface, "missed": len(row.misses)}
        _audit(session, attempt, CaseEventKind.CALLBACK_PLACED, agent, at, details)
        attempt_id = attempt.id
    return await callback_views.get_attempt(sm, attempt_id)


async def finish_attempt(
    sm: Sessions,
    attempt_id: int,
    outcome: CallbackOutcome,
    *,
    at: datetime,
    details: Mapping[str, object],
) -> AttemptView | None:
    """Record how a placed call back ended; None when it had its result already."""
    async with sm.begin() as session:
        attempt = await session.get(CallbackAttempt, attempt_id, with_for_update=True)
        if attempt is None or attempt.outcome != CallbackOutcome.PLACED.value:
            return None
        attempt.outcome, attempt.ended_at = outcome.value, at
        after = {"attempt_id": attempt_id, "outcome": outcome.value, **details}
        _audit(session, attempt, CaseEventKind.CALLBACK_RESULT, SYSTEM, at, after)
    return await callback_views.get_attempt(sm, attempt_id)


async def annotate(
    sm: Sessions, attempt_id: int, *, note: str | None, done: bool, actor: str, at: datetime
) -> AttemptView:
    """Set the agent's note (what was agreed); `done` takes the caller off the list."""
    text = clean_note(note)
    async with sm.begin() as session:
        attempt = await session.get(CallbackAttempt, attempt_id, with_for_update=True)
        if attempt is None:
            raise RecordNotFound(f"没有编号为 {attempt_id} 的回拨记录")
        # a result that never came (RESULT_WAIT) stops holding the number, and its "done"
        waiting = at - attempt.started_at < callback_views.RESULT_WAIT
        if done and attempt.outcome == CallbackOutcome.PLACED.value and waiting:
            raise ClaimConflict("回拨尚未结束：通话结束、结果记录后才能办结")
        if note is not None:
            attempt.note = text
        cleared = await _clear_flags(session, attempt, actor, at) if done else set()
        if attempt.case_id not in cleared and (note is not None or done):
            after = {"attempt_id": attempt_id, "done": done}
            _audit(session, attempt, CaseEventKind.CALLBACK_RESULT, actor, at, after, note=text)
    return await callback_views.get_attempt(sm, attempt_id)


def clean_note(note: str | None) -> str | None:
    """The note as stored: trimmed, None when empty; ValidationError when too long."""
    text = (note or "").strip()
    if len(text) > NOTE_LIMIT:
        raise ValidationError(f"备注不能超过 {NOTE_LIMIT} 字")
    return text or None


async def _number_of(session: AsyncSession, target: Target) -> str:
    if target.call_id is not None:
        call = await session.get(Call, target.call_id)
        if call is None:
            raise RecordNotFound(f"没有编号为 {target.call_id} 的来电")
        return call.caller_number or ""
    if target.case_id is not None:
        case = await session.get(Case, target.case_id)
        if case is None:
            raise RecordNotFound(f"没有编号为 {target.case_id} 的工单")
        return case.caller_number
    raise ValidationError("请指明要回拨的来电（call_id）或工单（case_id）")


async def _reports(session: AsyncSession, row: CallbackRow) -> list[CaseBrief]:
    """The reports filed from the row's number, and any among its misses' cases."""
    filed = (await callback_views.reports_in(session, [row.number])).get(row.number, ())
    known = {report.id for report in filed}
    linked = [case for case in row.cases if case.whistleblower and case.id not in known]
    return [*filed, *linked]


async def _lock_number(session: AsyncSession, number: str) -> None:
    # Serialises call backs to one number until commit; SQLite's immediate transactions
    # already serialise everything.
    if session.get_bind().dialect.name == "postgresql":
        key = func.hashtext(number)
        await session.execute(select(func.pg_advisory_xact_lock(_LOCK_SPACE, key)))


async def _clear_flags(
    session: AsyncSession, attempt: CallbackAttempt, actor: str, at: datetime
) -> set[int | None]:
    """Take the number's misses before this call back off the list; the cases changed."""
    before = attempt.started_at
    calls = select(Call).where(
        Call.caller_number == attempt.number,
        Call.needs_callback.is_(True),
        Call.started_at <= before,
    )
    drafts = set()
    for call in await session.scalars(calls.with_for_update()):
        call.needs_callback = False
        drafts.add(call.case_id)
    flagged = select(Case).where(
        # a call's draft goes with its call, whenever it was drafted
        (Case.caller_number == attempt.number) & (Case.created_at <= before)
        | Case.id.in_([case_id for case_id in drafts if case_id is not None]),
        Case.needs_callback.is_(True),
        Case.status.not_in(callbacks.CLOSED_STATUSES),  # archived cases are read-only
    )
    cleared: set[int | None] = set()
    for case in await session.scalars(flagged.with_for_update()):
        case.needs_callback, case.updated_at = False, at
        session.add(_done_event(case.id, attempt, actor, at))
        cleared.add(case.id)
    return cleared


def _done_event(case_id: int, attempt: CallbackAttempt, actor: str, at: datetime) -> CaseEvent:
    return CaseEvent(
        case_id=case_id,
        at=at,
        actor=actor,
        kind=CaseEventKind.CALLBACK_RESULT.value,
        before={"needs_callback": True},
        after={"needs_callback": False, "attempt_id": attempt.id, "done": True},
        note=attempt.note if case_id == attempt.case_id else None,
    )


def _audit(
    session: AsyncSession,
    attempt: CallbackAttempt,
    kind: CaseEventKind,
    actor: str,
    at: datetime,
    after: Mapping[str, object],
    *,
    note: str | None = None,
) -> None:
    # the number stays out of the trail: a reporter's identity is masked there
    if attempt.case_id is not None:
        session.add(
            CaseEvent(
                case_id=attempt.case_id,
                at=at,
                actor=actor,
                kind=kind.value,
                after=dict(after),
                note=note,
            )
        )
