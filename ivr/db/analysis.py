"""The IVR's analysis of a recorded request, written onto its draft once transcription ends.

The caller is in the queue by then (nobody waits for decoding), so an agent may already be
editing the draft: the classification lands only on a draft no person has changed (the
IVR's own flags, such as an abandoned caller's callback, do not count), while the transcript
is kept in any case unless someone typed one. Every analysis leaves an audit entry,
with the reason when no transcript could be made.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.case_fields import validate_fields
from ivr.db.cases import apply_changes, lock_case
from ivr.db.engine import utcnow
from ivr.db.models import CaseEvent, CaseEventKind, CaseStatus

IVR = "ivr"  # the actor of the IVR's own audit entries
TRANSCRIPT_FIELDS = frozenset({"transcript", "transcript_available"})
ANALYSIS_FIELDS = TRANSCRIPT_FIELDS | {
    "category",
    "department",
    "priority",
    "summary",
    "address",
    "contact_phone",
}


async def apply_analysis(
    sm: Sessions,
    case_id: int,
    *,
    fields: Mapping[str, object],
    note: str | None = None,
    at: datetime | None = None,
) -> bool:
    """Write the analysis; False when someone edited the draft first (their edits stay)."""
    changes = validate_fields(fields, ANALYSIS_FIELDS)
    at = at or utcnow()
    async with sm.begin() as session:
        case = await lock_case(session, case_id)
        untouched = case.status == CaseStatus.DRAFT and not await _changed_by_a_person(
            session, case_id
        )
        if not untouched:
            keep_transcript = not case.transcript
            changes = {
                k: v for k, v in changes.items() if keep_transcript and k in TRANSCRIPT_FIELDS
            }
        before, after = apply_changes(case, changes)
        if changes:
            case.updated_at = at
        kind = CaseEventKind.ANALYSED.value
        session.add(
            CaseEvent(
                case_id=case_id,
                at=at,
                actor=IVR,
                kind=kind,
                before=before,
                after=after,
                note=note,
            )
        )
    return untouched


async def _changed_by_a_person(session: AsyncSession, case_id: int) -> bool:
    query = select(CaseEvent.id).where(CaseEvent.case_id == case_id, CaseEvent.actor != IVR)
    return (await session.execute(query.limit(1))).first() is not None


async def is_analysed(sm: Sessions, case_id: int) -> bool:
    """Whether the IVR has finished its analysis of this case's recording."""
    query = select(CaseEvent.id).where(
        CaseEvent.case_id == case_id, CaseEvent.kind == CaseEventKind.ANALYSED.value
    )
    async with sm() as session:
        return (await session.execute(query.limit(1))).first() is not None


async def note_partial(sm: Sessions, case_id: int, text: str) -> bool:
    """What the caller has said so far, on a draft nobody has touched (no audit entry: the
    final analysis writes one); False when it was not written."""
    async with sm.begin() as session:
        case = await lock_case(session, case_id)
        if case.status != CaseStatus.DRAFT or await _changed_by_a_person(session, case_id):
            return False
        case.transcript, case.transcript_available = text[:10_000], True
        return True


async def mark_hung_up(sm: Sessions, case_id: int, *, at: datetime) -> None:
    """The caller hung up while speaking: the draft needs a call back."""
    async with sm.begin() as session:
        case = await lock_case(session, case_id)
        flags = {"abandoned": case.abandoned, "needs_callback": case.needs_callback}
        if all(flags.values()):
            return
        case.abandoned = case.needs_callback = True
        case.updated_at = at
        after = dict.fromkeys(flags, True)
        kind = CaseEventKind.CALL_ABANDONED.value
        session.add(
            CaseEvent(case_id=case_id, at=at, actor=IVR, kind=kind, before=flags, after=after)
        )
