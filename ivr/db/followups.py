"""The replied cases waiting for their follow-up call (回访), and claiming a call on one.

A round of follow-up calls starts with the case's latest reply (its REPLIED entry in the
audit trail); the calls placed since then (FOLLOW_UP_CALLED entries) are the round's
attempts. Claiming writes the next FOLLOW_UP_CALLED entry with the case locked, after
checking that nobody else wrote one meanwhile: two processes never ring the same citizen
for the same attempt.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.cases import lock_case
from ivr.db.models import Case, CaseEvent, CaseEventKind, CaseStatus
from ivr.errors import ClaimConflict, ValidationError
from ivr.followup.schedule import PendingFollowUp

DIALLABLE = re.compile(r"^\+?[0-9]{3,20}$")
SYSTEM = "followup"
BATCH = 5000  # replied cases read per run; a center has far fewer waiting at once
CALL_LASTS = timedelta(minutes=6)  # ringing plus a survey, at most: a call older is over

K = CaseEventKind


def number_to_call(case: Case) -> str | None:
    """The number the citizen asked to be called on, else the one they called from."""
    number = (case.contact_phone or case.caller_number or "").strip()
    return number if DIALLABLE.fullmatch(number) else None


async def pending(sm: Sessions) -> list[tuple[Case, PendingFollowUp]]:
    """Every replied case with this round's calls so far, longest replied first."""
    replied_at = (
        select(func.max(CaseEvent.at))
        .where(CaseEvent.case_id == Case.id, CaseEvent.kind == K.REPLIED.value)
        .scalar_subquery()
    )
    query = select(Case, replied_at).where(Case.status == CaseStatus.REPLIED.value)
    async with sm() as session:
        rows = (await session.execute(query.order_by(Case.id).limit(BATCH))).all()
        entries = await _call_entries(session)
    found = [(case, _round_of(case, at or case.updated_at, entries)) for case, at in rows]
    return sorted(found, key=lambda pair: (pair[1].replied_at, pair[1].case_id))


def _round_of(
    case: Case, since: datetime, entries: dict[tuple[int, str], list[datetime]]
) -> PendingFollowUp:
    # `since`: the latest reply (or, for a reply recorded without its entry, the last change)
    calls = sorted(at for at in entries[case.id, K.FOLLOW_UP_CALLED.value] if at >= since)
    missed = [at for at in entries[case.id, K.FOLLOW_UP_UNANSWERED.value] if at >= since]
    return PendingFollowUp(
        case_id=case.id,
        replied_at=since,
        attempts=len(calls),
        last_attempt_at=calls[-1] if calls else None,
        diallable=number_to_call(case) is not None,
        unanswered=len(missed),
    )


async def claim_call(
    sm: Sessions, case_id: int, *, at: datetime, seen_attempts: int | None = None
) -> str:
    """Note the next call on the case and return the number to ring.

    `seen_attempts` is what the caller read before deciding to call: when another process
    has placed a call since, ClaimConflict; without it (the office's button) a call still
    going on is the conflict. ValidationError when the case is not waiting for a follow-up
    or has no number to call."""
    async with sm.begin() as session:
        case = await lock_case(session, case_id)
        if case.status != CaseStatus.REPLIED:
            raise ValidationError(
                f"case {case_id} is {case.status}: only replied cases are followed up"
            )
        number = number_to_call(case)
        if number is None:
            shown = case.contact_phone or case.caller_number
            raise ValidationError(f"case {case_id} has no number to call back ({shown!r})")
        if seen_attempts is not None and await _round_calls(session, case) != seen_attempts:
            raise ClaimConflict(f"case {case_id}: a follow-up call was placed meanwhile")
        if seen_attempts is None and await _going_on(session, case_id, at):
            raise ClaimConflict(f"case {case_id}: a follow-up call to the citizen is going on")
        note(session, case_id, K.FOLLOW_UP_CALLED, at, {"number": number})
    return number


async def note_unanswered(sm: Sessions, case_id: int, *, at: datetime, reason: str) -> None:
    """An attempt that reached nobody, or a citizen who left the survey unanswered."""
    async with sm.begin() as session:
        number = number_to_call(await lock_case(session, case_id)) or ""
        note(session, case_id, K.FOLLOW_UP_UNANSWERED, at, {"number": number, "reason": reason})


async def settled(sm: Sessions, case_id: int, *, since: datetime) -> bool:
    """Whether the follow-up call placed at `since` is over: answered (the case moved on),
    or noted unanswered or unfinished."""
    async with sm() as session:
        case = await session.get(Case, case_id)
        if case is None or case.status != CaseStatus.REPLIED:
            return True
        query = select(func.count(CaseEvent.id)).where(
            CaseEvent.case_id == case_id,
            CaseEvent.kind == K.FOLLOW_UP_UNANSWERED.value,
            CaseEvent.at >= since,
        )
        return bool(await session.scalar(query))


async def round_attempts(sm: Sessions, case_id: int) -> int:
    """How many follow-up calls were placed since the case's latest reply."""
    async with sm() as session:
        case = await session.get(Case, case_id)
        return 0 if case is None else await _round_calls(session, case)


def note(
    session: AsyncSession, case_id: int, kind: CaseEventKind, at: datetime, details: dict[str, str]
) -> None:
    """An audit entry of the follow-up system on the case."""
    session.add(CaseEvent(case_id=case_id, at=at, actor=SYSTEM, kind=kind.value, after=details))


async def _going_on(session: AsyncSession, case_id: int, at: datetime) -> bool:
    last = await session.scalar(
        select(func.max(CaseEvent.at)).where(
            CaseEvent.case_id == case_id, CaseEvent.kind == K.FOLLOW_UP_CALLED.value
        )
    )
    if last is None or last < at - CALL_LASTS:
        return False
    ended = select(func.count(CaseEvent.id)).where(
        CaseEvent.case_id == case_id,
        CaseEvent.kind == K.FOLLOW_UP_UNANSWERED.value,
        CaseEvent.at >= last,
    )
    return not await session.scalar(ended)


async def _round_calls(session: AsyncSession, case: Case) -> int:
    replied = await session.scalar(
        select(func.max(CaseEvent.at)).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == K.REPLIED.value
        )
    )
    since = replied or case.updated_at
    query = select(func.count(CaseEvent.id)).where(
        CaseEvent.case_id == case.id,
        CaseEvent.kind == K.FOLLOW_UP_CALLED.value,
        CaseEvent.at >= since,
    )
    return int(await session.scalar(query) or 0)


async def _call_entries(session: AsyncSession) -> dict[tuple[int, str], list[datetime]]:
    entries: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    kinds = (K.FOLLOW_UP_CALLED.value, K.FOLLOW_UP_UNANSWERED.value)
    query = (
        select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.at)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(Case.status == CaseStatus.REPLIED.value, CaseEvent.kind.in_(kinds))
    )
    for case_id, kind, at in (await session.execute(query)).all():
        entries[case_id, kind].append(at)
    return entries
