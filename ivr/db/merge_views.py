"""并单 suggestions from the database: the cases near a case in time and naming its place,
scored by ivr.cases.similarity off the event loop.

The database narrows the field (within the window, not drafts, not archived, not reports,
mentioning one of the case's street or community names); the pure scoring decides. Cases
merged into another are read with their main case, which is what gets suggested.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.cases import similarity
from ivr.cases.similarity import CaseText, Suggestion
from ivr.db import cases
from ivr.db.calls import Sessions
from ivr.db.cases import CaseView
from ivr.db.models import Case, CaseStatus
from ivr.errors import RecordNotFound

CANDIDATES = 500  # nearest in time first; a street's duplicates of one week fit many times
SHOWN = 10


@dataclasses.dataclass(frozen=True)
class Duplicate:
    """A suggested main case, its score and reasons, and the merged cases that matched."""

    suggestion: Suggestion
    case: CaseView
    via: tuple[CaseView, ...]


async def duplicates(
    sm: Sessions, case_id: int, *, window_days: int, limit: int = SHOWN
) -> list[Duplicate]:
    """The cases `case_id` may duplicate, most alike first; RecordNotFound for no case."""
    window = timedelta(days=window_days)
    async with sm() as session:
        case = await session.get(Case, case_id)
        if case is None:
            raise RecordNotFound(f"no case {case_id}")
        target = case_text(case)
        names = sorted({place.name for place in similarity.places_of(target)})
        if not names or not similarity.may_merge(target):
            return []
        others = await _candidates(session, case, names, window)
        found = await asyncio.to_thread(
            similarity.suggest, target, others, window=window, limit=limit
        )
        wanted = {s.case_id for s in found} | {i for s in found for i in s.via}
        views = {v.id: v for v in await cases.views_in(session, _by_ids(wanted))}
    return [
        Duplicate(s, views[s.case_id], tuple(views[i] for i in s.via))
        for s in found
        if s.case_id in views
    ]


def case_text(case: Case) -> CaseText:
    """What the comparison reads of a case row."""
    return CaseText(
        id=case.id,
        status=CaseStatus(case.status),
        category=case.category,
        summary=case.summary,
        transcript=case.transcript,
        address=case.address,
        created_at=case.created_at,
        whistleblower=case.whistleblower,
        merged_into_id=case.merged_into_id,
    )


async def _candidates(
    session: AsyncSession, case: Case, names: list[str], window: timedelta
) -> list[CaseText]:
    named = [
        or_(
            Case.address.contains(name, autoescape=True),
            Case.summary.contains(name, autoescape=True),
            Case.transcript.contains(name, autoescape=True),
        )
        for name in names
    ]
    query = (
        select(Case)
        .where(
            Case.id != case.id,
            Case.status.not_in([CaseStatus.DRAFT.value, CaseStatus.ARCHIVED.value]),
            Case.whistleblower.is_(False),
            Case.created_at.between(case.created_at - window, case.created_at + window),
            or_(*named),
        )
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(CANDIDATES)
    )
    near = [case_text(row) for row in await session.scalars(query)]
    mains = {o.merged_into_id for o in near if o.merged_into_id} - {o.id for o in near}
    if mains:  # a merged case is suggested as its main case, wherever that one is
        near += [case_text(row) for row in await session.scalars(_by_ids(mains))]
    return near


def _by_ids(ids: set[int]) -> Select[Case]:
    return select(Case).where(Case.id.in_(sorted(ids)))
