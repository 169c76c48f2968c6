"""The schedule's audit log: one row per change, written in the change's transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db.duty_models import ScheduleAudit
from ivr.duty.holidays import Holiday
from ivr.duty.model import Leader, Shift

MAX_ENTRIES = 500


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One change: who made it, when, to what, and the record before and after."""

    id: int
    at: datetime
    actor: str
    entity: str
    entity_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def audit(
    session: AsyncSession,
    at: datetime,
    actor: str,
    entity: str,
    entity_id: object,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Add the audit row of a change to the change's transaction."""
    session.add(
        ScheduleAudit(
            at=at,
            actor=actor,
            entity=entity,
            entity_id=str(entity_id),
            action=action,
            before=before,
            after=after,
        )
    )


async def audit_log(
    sm: async_sessionmaker[AsyncSession], *, limit: int = 50, entity: str | None = None
) -> list[AuditEntry]:
    """The latest changes, newest first (of one kind of record when `entity` is given)."""
    query = select(ScheduleAudit).order_by(ScheduleAudit.at.desc(), ScheduleAudit.id.desc())
    if entity is not None:
        query = query.where(ScheduleAudit.entity == entity)
    async with sm() as session:
        rows = await session.scalars(query.limit(max(1, min(limit, MAX_ENTRIES))))
        return [
            AuditEntry(r.id, r.at, r.actor, r.entity, r.entity_id, r.action, r.before, r.after)
            for r in rows
        ]


def leader_json(leader: Leader) -> dict[str, Any]:
    """A leader as the audit log records it."""
    fields = ("name", "title", "active")
    return {k: getattr(leader, k) for k in fields} | {"endpoints": list(leader.endpoints)}


def shift_json(shift: Shift, leaders: Mapping[int, Leader]) -> dict[str, Any]:
    """A shift as the audit log records it (UTC times, and the leader's name)."""
    leader = leaders.get(shift.leader_id)
    return {
        "leader_id": shift.leader_id,
        "leader": leader.name if leader else None,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "note": shift.note,
    }


def holiday_json(holiday: Holiday) -> dict[str, Any]:
    """A holiday-list entry as the audit log records it."""
    return {"day": holiday.day.isoformat(), "name": holiday.name, "kind": holiday.kind.value}
