"""What happened to a call on a leader-duty day, written onto its case (and its audit trail).

The office follows a leader's cases closely: the case says whether the leader answered, was
busy, or did not answer in time, and whether the caller asked for a call back instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select

from ivr.db.calls import Sessions
from ivr.db.cases import lock_case
from ivr.db.models import Call, CaseEvent, CaseEventKind

IVR = "ivr"


async def note_leader_event(
    sm: Sessions,
    case_id: int,
    kind: CaseEventKind,
    *,
    at: datetime,
    details: Mapping[str, object],
    flags: Mapping[str, bool] | None = None,
) -> None:
    """An audit entry on the case, with the case flags it implies set in the same write."""
    async with sm.begin() as session:
        case = await lock_case(session, case_id)
        before = {name: getattr(case, name) for name in flags or {}}
        for name, value in (flags or {}).items():
            setattr(case, name, value)
        if flags:
            case.updated_at = at
        after = {**details, **(flags or {})}
        session.add(
            CaseEvent(
                case_id=case_id, at=at, actor=IVR, kind=kind.value, before=before, after=after
            )
        )


async def case_of_call(sm: Sessions, uniqueid: str) -> int | None:
    """The case id a call is linked to."""
    async with sm() as session:
        return await session.scalar(select(Call.case_id).where(Call.uniqueid == uniqueid))


async def leader_answered(sm: Sessions, uniqueid: str, *, at: datetime, member: str) -> None:
    """AgentConnect on the leader's desk: the case is a leader's case from now on."""
    case_id = await case_of_call(sm, uniqueid)
    if case_id is not None:
        await note_leader_event(
            sm,
            case_id,
            CaseEventKind.LEADER_ANSWERED,
            at=at,
            details={"member": member},
            flags={"leader_handled": True},
        )


async def leader_fell_back(sm: Sessions, uniqueid: str, *, at: datetime, result: str) -> None:
    """The leader's desk did not take the call; the agents' queue did."""
    case_id = await case_of_call(sm, uniqueid)
    if case_id is not None:
        details = {"queue_status": result}
        await note_leader_event(sm, case_id, CaseEventKind.LEADER_FELL_BACK, at=at, details=details)
