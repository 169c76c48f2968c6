"""The statistics rollup's `received` and `due` rows, kept up to date case by case.

`received` and `due` depend on what a case is now (registered, its category, closed,
reopened, extended, merged), which changes for weeks. Every case change bumps
`cases.updated_at` (ivr.db.workflow_state records every move); `refresh_marks` reads the cases
changed since its cursor in (updated_at, id) order, compares each one's mark (what it adds
to the rows) with the stored one, adds the difference to the rows, stores the new mark and
advances the cursor, in one transaction per batch under the rollup's lock (so two processes
never add a difference twice). Each refresh reads again the last `MARGIN` before its cursor,
for a move whose transaction committed after a later one. A first refresh over an existing
database reads every case, in batches, over several runs: until it has caught up, the pages
count `received` and `due` live.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db import stats_queries as live
from ivr.db.calls import Sessions
from ivr.db.engine import dialect_insert
from ivr.db.models import Case, CaseStatus
from ivr.db.stats_models import StatsCaseMark, StatsDaily, StatsState
from ivr.db.stats_rollup import (
    MARKS,
    SETTINGS,
    DailyKey,
    RollupConfig,
    checked,
    daily_row,
    lock,
    state_row,
    usable,
)
from ivr.db.workflow_models import CaseAssignment
from ivr.stats.figures import CaseSums

MARGIN = timedelta(minutes=10)
MARK_BATCH = 5_000


class Mark(NamedTuple):
    """What one case adds to the received and due rows."""

    created_day: date
    category: str
    priority: str
    leader: bool
    received: bool
    due_day: date | None
    due_department: str | None
    closed: bool

    def counts(self) -> Iterable[tuple[DailyKey, tuple[int, int, int]]]:
        """The rows this mark adds to, and how much: (received, due, closed)."""
        if self.received:
            yield (
                (self.created_day, "received", self.category, self.priority, self.leader),
                (1, 0, 0),
            )
        if self.due_day is not None:
            key = (self.due_day, "due", self.due_department or "", "", self.leader)
            yield key, (0, 1, int(self.closed))


async def refresh_marks(sm: Sessions, config: RollupConfig, *, limit: int) -> bool:
    """Bring `received` and `due` up to date with at most `limit` changed cases; True when
    they are (the pages may read them), False when more changes wait."""
    async with sm() as session:
        marks = await state_row(session, MARKS)
        settings = await state_row(session, SETTINGS)
    fresh = settings is None or settings.text != config.fingerprint()
    after = None if fresh or marks is None or marks.at is None else (marks.at - MARGIN, 0)
    seen = 0
    while seen < limit:
        batch = await _apply(sm, config, after)
        if batch is None:
            after, seen = None, 0  # the settings changed under us: start over
            continue
        count, last = batch
        if count < MARK_BATCH:
            return True
        seen, after = seen + count, last
    return False


Cursor = tuple[datetime, int]


async def _apply(
    sm: Sessions, config: RollupConfig, after: Cursor | None
) -> tuple[int, Cursor | None] | None:
    # the next batch of changed cases after `after`, applied: how many, and the last one's
    # (updated_at, id); None when the rollup was emptied for new settings instead
    async with sm.begin() as session:
        await lock(session)
        if await checked(session, config):
            return None
        batch = (await session.execute(_changed_after(after))).all()
        ids = [case_id for case_id, _ in batch]
        new = {row.id: _mark_now(row, config.zone) for row in await session.execute(_now(ids))}
        old = await _marks_stored(session, ids)
        changed = {case_id: mark for case_id, mark in new.items() if old.get(case_id) != mark}
        await _add(session, _deltas(changed, old))
        await _store_marks(session, changed)
        last = (batch[-1][1], batch[-1][0]) if batch else None
        await _advance(session, last, caught_up=len(batch) < MARK_BATCH)
    return len(batch), last


def _changed_after(after: Cursor | None) -> Any:
    # an index range scan on cases (updated_at, id), whatever the planner knows
    query = select(Case.id, Case.updated_at).order_by(Case.updated_at, Case.id)
    if after is not None:
        query = query.where(tuple_(Case.updated_at, Case.id) > tuple_(*after))
    return query.limit(MARK_BATCH)


def _now(ids: Sequence[int]) -> Any:
    # each case with its current lead assignment's deadline and department, looked up by
    # case_id (correlated, so a bulk-loaded table without statistics cannot make it a scan)
    a, c = CaseAssignment, Case

    def of_lead(column: Any) -> Any:
        current = (a.role == live.LEAD) & a.current.is_(True) & a.withdrawn_at.is_(None)
        found = select(column).where(a.case_id == c.id, current).order_by(a.id).limit(1)
        return found.scalar_subquery().label(column.key)

    columns = (c.id, c.created_at, c.status, c.category, c.priority, c.leader_handled)
    due = (of_lead(a.reply_due), of_lead(a.department))
    return select(*columns, *due).where(c.id.in_(ids))


async def _marks_stored(session: AsyncSession, ids: Sequence[int]) -> dict[int, Mark]:
    m = StatsCaseMark
    query = select(m.case_id, *(getattr(m, name) for name in Mark._fields))
    rows = await session.execute(query.where(m.case_id.in_(ids)))
    return {row[0]: Mark(*row[1:]) for row in rows}


def _mark_now(row: Any, zone: ZoneInfo) -> Mark:
    owes = row.reply_due is not None and row.status != CaseStatus.MERGED.value
    return Mark(
        created_day=row.created_at.astimezone(zone).date(),
        category=row.category,
        priority=row.priority,
        leader=bool(row.leader_handled),
        received=row.status != CaseStatus.DRAFT.value,
        due_day=row.reply_due.astimezone(zone).date() if owes else None,
        due_department=row.department if owes else None,
        closed=row.status in live.CLOSED,
    )


def _deltas(changed: dict[int, Mark], old: dict[int, Mark]) -> dict[DailyKey, list[int]]:
    deltas: dict[DailyKey, list[int]] = defaultdict(lambda: [0, 0, 0])
    for case_id, mark in changed.items():
        for sign, was in ((-1, old.get(case_id)), (1, mark)):
            for key, counts in was.counts() if was is not None else ():
                deltas[key] = [t + sign * c for t, c in zip(deltas[key], counts, strict=True)]
    return deltas


async def _add(session: AsyncSession, deltas: dict[DailyKey, list[int]]) -> None:
    names = ("received", "due", "closed")
    rows = [
        daily_row(key, CaseSums(**dict(zip(names, counts, strict=True))))
        for key, counts in sorted(deltas.items())
        if any(counts)
    ]
    if not rows:
        return
    table = StatsDaily.__table__
    insert = dialect_insert(session, table)
    added = {name: table.c[name] + insert.excluded[name] for name in names}
    await session.execute(
        insert.on_conflict_do_update(index_elements=list(table.primary_key), set_=added), rows
    )


async def _store_marks(session: AsyncSession, marks: dict[int, Mark]) -> None:
    if not marks:
        return
    table = StatsCaseMark.__table__
    rows = [{"case_id": case_id, **m._asdict()} for case_id, m in sorted(marks.items())]
    insert = dialect_insert(session, table)
    values = {name: insert.excluded[name] for name in Mark._fields}
    await session.execute(
        insert.on_conflict_do_update(index_elements=["case_id"], set_=values), rows
    )


async def _advance(session: AsyncSession, cursor: Cursor | None, *, caught_up: bool) -> None:
    row = await state_row(session, MARKS)
    if row is None:
        row = StatsState(name=MARKS)
        session.add(row)
    if cursor is not None and (row.at is None or cursor[0] > row.at):
        row.at, row.number = cursor[0].astimezone(UTC), cursor[1]
    row.text = "ready" if caught_up else "building"


async def marks_ready(session: AsyncSession, config: RollupConfig) -> bool:
    """Whether every case's mark is in the rows (as of the last refresh)."""
    marks = await state_row(session, MARKS)
    return await usable(session, config) and marks is not None and marks.text == "ready"
