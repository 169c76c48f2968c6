"""漏接回拨: the callers to call back, one row per number, read from the call records.

On the list: a caller whose call ended while they waited in the queue (`Call.needs_callback`,
which `Call.settle` sets), and a caller whose case is flagged `needs_callback` (they pressed 1
for a call back on a leader-duty day, hung up while stating their request, or an agent ticked
it). A queued call whose draft an agent has since unticked is off: the draft is what agents
edit. Numbers nobody can dial (withheld, anonymous, too short) are left out.

Off the list, with nothing written to the call records: a miss is settled by what happened to
the number after it, an answered call from that number or a call back that reached them.
Marking a call back done clears the flags of the misses before it (ivr.db.callback_attempts).
Only the last LOOK_BACK days are read: older misses are for the office, not for this list.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from ivr.db.callback_views import (
    AttemptView,
    CallbackRow,
    Miss,
    MissKind,
    attempt_query,
    attempt_views,
    brief,
)
from ivr.db.calls import Sessions
from ivr.db.channel_models import CallbackAttempt, CallbackOutcome
from ivr.db.followups import DIALLABLE
from ivr.db.models import Call, Case, CaseStatus, Outcome

# What a trunk can dial: digits, an optional leading +; the rule the follow-up calls use.
LOOK_BACK = timedelta(days=7)
CLOSED_STATUSES = (CaseStatus.ARCHIVED.value, CaseStatus.MERGED.value)


def diallable(number: str | None) -> TypeGuard[str]:
    """Whether a call back can dial this number."""
    return number is not None and DIALLABLE.fullmatch(number) is not None


async def callback_list(sm: Sessions, *, now: datetime, limit: int = 200) -> list[CallbackRow]:
    """The callers owed a call back, the most recent miss first."""
    async with sm() as session:
        rows = await _rows(session, await _misses(session, since=now - LOOK_BACK))
    return rows[:limit]


async def pending_row(session: AsyncSession, number: str, *, now: datetime) -> CallbackRow | None:
    """The number's row, if it is owed a call back (inside the caller's transaction)."""
    rows = await _rows(session, await _misses(session, since=now - LOOK_BACK, number=number))
    return rows[0] if rows else None


async def is_owed(sm: Sessions, number: str, *, now: datetime) -> bool:
    """Whether the number is on the list."""
    async with sm() as session:
        return await pending_row(session, number, now=now) is not None


async def _misses(
    session: AsyncSession, *, since: datetime, number: str | None = None
) -> dict[str, list[Miss]]:
    calls = (
        select(Call, Case)
        .outerjoin(Case, Case.id == Call.case_id)
        # through the queue-join time: indexed, and when a caller who gave up was waiting
        .where(Call.needs_callback.is_(True), Call.queue_joined_at >= since)
        # a draft an agent unticked is off the list; a call without a draft stays on
        .where(Case.id.is_(None) | Case.needs_callback.is_(True))
    )
    flagged = select(Case).where(
        Case.needs_callback.is_(True),
        Case.created_at >= since,
        Case.status.not_in(CLOSED_STATUSES),
    )
    if number is not None:
        calls = calls.where(Call.caller_number == number)
        flagged = flagged.where(Case.caller_number == number)
    found: dict[str, list[Miss]] = defaultdict(list)
    for call, case in (await session.execute(calls)).all():
        miss = Miss(MissKind.QUEUE, call.started_at, call.id, call.wait_seconds, brief(case))
        _add(found, call.caller_number, miss)
    queued = {miss.case.id for misses in found.values() for miss in misses if miss.case}
    for case in await session.scalars(flagged):
        if case.id not in queued:  # a queued call's draft is that call's miss, not another
            kind = MissKind.HUNG_UP if case.abandoned else MissKind.REQUESTED
            _add(found, case.caller_number, Miss(kind, case.created_at, None, None, brief(case)))
    return found


def _add(found: dict[str, list[Miss]], number: str | None, miss: Miss) -> None:
    if diallable(number):
        found[number].append(miss)


async def _rows(session: AsyncSession, found: dict[str, list[Miss]]) -> list[CallbackRow]:
    if not found:
        return []
    numbers = list(found)
    answered = Call.outcome == Outcome.ANSWERED.value
    reached = CallbackAttempt.outcome == CallbackOutcome.REACHED.value
    settled_by = [
        await _latest(session, Call.caller_number, Call.started_at, numbers, answered),
        await _latest(
            session, CallbackAttempt.number, CallbackAttempt.started_at, numbers, reached
        ),
    ]
    rows = []
    for number, misses in found.items():
        settled = max((s[number] for s in settled_by if number in s), default=None)
        pending = [m for m in misses if settled is None or m.at > settled]
        if pending:
            pending.sort(key=lambda m: m.at, reverse=True)
            rows.append(CallbackRow(number, tuple(pending), ()))
    rows = await _with_attempts(session, rows)
    rows.sort(key=lambda row: row.misses[0].at, reverse=True)
    return rows


async def _latest(
    session: AsyncSession,
    key: InstrumentedAttribute[Any],
    at: InstrumentedAttribute[datetime],
    numbers: list[str],
    condition: ColumnElement[bool],
) -> dict[str, datetime]:
    """The latest `at` per number among the rows meeting `condition`."""
    query = select(key, func.max(at)).where(condition, key.in_(numbers)).group_by(key)
    return {number: moment for number, moment in (await session.execute(query)).all()}


async def _with_attempts(session: AsyncSession, rows: list[CallbackRow]) -> list[CallbackRow]:
    """The rows with the call backs made since each one's first miss."""
    if not rows:
        return rows
    query = attempt_query().where(
        CallbackAttempt.number.in_([row.number for row in rows]),
        CallbackAttempt.started_at >= min(row.misses[-1].at for row in rows),
    )
    by_number: dict[str, list[AttemptView]] = defaultdict(list)
    for attempt in await attempt_views(session, query):
        by_number[attempt.number].append(attempt)
    return [
        dataclasses.replace(
            row,
            attempts=tuple(a for a in by_number[row.number] if a.started_at >= row.misses[-1].at),
        )
        for row in rows
    ]
