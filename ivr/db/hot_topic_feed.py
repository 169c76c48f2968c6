"""What the hot-topic job reads of the cases: the recent day's versions, cases by id, and
the older hours the usual level is counted over (ivr.hotspots.detector).

Cases are read by `created_at`, which has no index yet (a migration adding
ix_cases_created_at would make each of these a range scan instead of a table scan).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.models import Case
from ivr.hotspots.model import CaseDoc

BATCH = 500  # ids per IN (...) list
Ts = TypeVarTuple("Ts")
_COLUMNS = (
    Case.id,
    Case.version,
    Case.created_at,
    Case.caller_number,
    Case.category,
    Case.department,
    Case.summary,
    Case.transcript,
    Case.address,
)


async def first_case_at(sm: Sessions) -> datetime | None:
    """When the first case came (the history before it is not missing: there was none)."""
    async with sm() as session:
        found: datetime | None = await session.scalar(select(func.min(Case.created_at)))
    return found


async def recent_versions(sm: Sessions, *, after: datetime, until: datetime) -> dict[int, int]:
    """The id and version of every case created in (after, until]."""
    query = select(Case.id, Case.version).where(Case.created_at > after, Case.created_at <= until)
    async with sm() as session:
        return {case_id: version for case_id, version in (await session.execute(query)).all()}


async def case_docs(sm: Sessions, ids: Iterable[int]) -> list[CaseDoc]:
    """The cases with these ids, as the detector reads them, in the order they came."""
    wanted = sorted(set(ids))
    docs: list[CaseDoc] = []
    async with sm() as session:
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            docs += await _docs(session, select(*_COLUMNS).where(Case.id.in_(chunk)))
    return sorted(docs, key=lambda doc: (doc.created_at, doc.id))


async def cases_within(sm: Sessions, spans: Sequence[tuple[datetime, datetime]]) -> list[CaseDoc]:
    """The cases created within any of the [start, end) spans, in the order they came."""
    if not spans:
        return []
    within = or_(*(and_(Case.created_at >= a, Case.created_at < b) for a, b in spans))
    query = select(*_COLUMNS).where(within).order_by(Case.created_at, Case.id)
    async with sm() as session:
        return await _docs(session, query)


async def _docs(session: AsyncSession, query: Select[*Ts]) -> list[CaseDoc]:
    rows = (await session.execute(query)).all()
    return [
        CaseDoc(
            id=row.id,
            version=row.version,
            created_at=row.created_at,
            caller=row.caller_number,
            category=row.category,
            department=row.department,
            summary=row.summary,
            transcript=row.transcript,
            address=row.address,
        )
        for row in rows
    ]
