"""The schedule in bulk: the holiday list, publishing a rotation, importing a file, and what
a rotation needs to know. Locking and auditing as in ivr.db.duty: all or nothing, always."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, tzinfo

from sqlalchemy import delete, select

from ivr.db.duty import Sessions, add_shift, leader_map, lock_schedule, overlapping
from ivr.db.duty_audit import audit, holiday_json, shift_json
from ivr.db.duty_models import HolidayRecord, ShiftRecord
from ivr.duty.holidays import Holiday, HolidayCalendar, HolidayKind
from ivr.duty.importing import ImportedShift, months_of, plan_import
from ivr.duty.model import Leader, Shift
from ivr.duty.months import month_span
from ivr.duty.validate import check_holiday, labelled_problems
from ivr.errors import ImportRejected, RecordNotFound

MAX_BATCH = 400  # a year of daily shifts, and then some


@dataclasses.dataclass(frozen=True)
class ImportResult:
    """What an import did: shifts added, shifts replaced, rows that were there already."""

    added: tuple[Shift, ...]
    removed: tuple[Shift, ...]
    unchanged: int


@dataclasses.dataclass(frozen=True)
class RotationContext:
    """What a rotation proposal depends on, read from the database."""

    leaders: tuple[Leader, ...]
    holidays: HolidayCalendar
    taken: frozenset[date]  # local days that already have a shift
    previous_leader_id: int | None  # who was on duty last before the period


async def list_holidays(sm: Sessions, start: date, end: date) -> list[Holiday]:
    """The holiday list's entries in [start, end), by day."""
    query = select(HolidayRecord).where(HolidayRecord.day >= start, HolidayRecord.day < end)
    async with sm() as session:
        rows = await session.scalars(query.order_by(HolidayRecord.day))
        return [_holiday_of(row) for row in rows]


async def save_holiday(
    sm: Sessions, day: date, name: str, kind: str, *, actor: str, at: datetime
) -> Holiday:
    """Add a day to the holiday list, or change the entry it has."""
    holiday = check_holiday(day, name, kind)
    async with sm.begin() as session:
        await lock_schedule(session)
        row = await session.get(HolidayRecord, day)
        before = None if row is None else holiday_json(_holiday_of(row))
        if row is None:
            row = HolidayRecord(day=day)
            session.add(row)
        row.name, row.kind = holiday.name, holiday.kind.value
        action = "create" if before is None else "update"
        audit(session, at, actor, "holiday", day.isoformat(), action, before, holiday_json(holiday))
        return holiday


async def delete_holiday(sm: Sessions, day: date, *, actor: str, at: datetime) -> Holiday:
    """Take a day off the holiday list; RecordNotFound when it is not on it."""
    async with sm.begin() as session:
        await lock_schedule(session)
        row = await session.get(HolidayRecord, day)
        if row is None:
            raise RecordNotFound(f"{day.isoformat()} is not on the holiday list")
        holiday = _holiday_of(row)
        await session.delete(row)
        audit(session, at, actor, "holiday", day.isoformat(), "delete", holiday_json(holiday), None)
        return holiday


async def publish_shifts(
    sm: Sessions, shifts: Sequence[Shift], *, actor: str, now: datetime, zone: tzinfo
) -> list[Shift]:
    """Save a (rotation's) list of new shifts, all or none ("shift 2: ..." per bad one)."""
    if not shifts:
        raise ImportRejected(["there are no shifts to publish"])
    if len(shifts) > MAX_BATCH:
        raise ImportRejected([f"at most {MAX_BATCH} shifts can be published at once"])
    batch = [(f"shift {n}", shift) for n, shift in enumerate(shifts, start=1)]
    async with sm.begin() as session:
        await lock_schedule(session)
        leaders = await leader_map(session)
        start = min(s.starts_at for s in shifts)
        existing = await overlapping(session, start, max(s.ends_at for s in shifts))
        problems = labelled_problems(batch, existing, leaders, now=now, zone=zone)
        if problems:
            raise ImportRejected(problems)
        saved = [await add_shift(session, shift, at=now) for shift in shifts]
        for shift in saved:
            audit(
                session, now, actor, "shift", shift.id, "publish", None, shift_json(shift, leaders)
            )
        return saved


async def import_schedule(
    sm: Sessions, rows: Sequence[ImportedShift], *, actor: str, now: datetime, zone: tzinfo
) -> ImportResult:
    """Make the months of a read file read as the file (ivr.duty.importing), all or nothing."""
    if len(rows) > MAX_BATCH:
        raise ImportRejected([f"a file may hold at most {MAX_BATCH} shifts"])
    async with sm.begin() as session:
        await lock_schedule(session)
        leaders = await leader_map(session)
        months = months_of(rows, zone) if rows else []
        existing: list[Shift] = []
        for month in months:
            existing += await overlapping(session, *month_span(month, 1, zone))
        plan = plan_import(rows, existing, leaders, now=now, zone=zone)
        if plan.remove:
            gone = [shift.id for shift in plan.remove]
            await session.execute(delete(ShiftRecord).where(ShiftRecord.id.in_(gone)))
        for shift in plan.remove:
            audit(
                session, now, actor, "shift", shift.id, "import", shift_json(shift, leaders), None
            )
        added = [await add_shift(session, shift, at=now) for shift in plan.add]
        for shift in added:
            audit(
                session, now, actor, "shift", shift.id, "import", None, shift_json(shift, leaders)
            )
        return ImportResult(tuple(added), plan.remove, plan.unchanged)


async def rotation_context(sm: Sessions, first: date, months: int, zone: tzinfo) -> RotationContext:
    """The leaders, holidays, taken days and last leader on duty before a rotation's months."""
    start, end = month_span(first, months, zone)
    async with sm() as session:
        leaders = await leader_map(session)
        shifts = await overlapping(session, start, end)
        before = select(ShiftRecord.leader_id).where(ShiftRecord.starts_at < start)
        previous = await session.scalar(
            before.order_by(ShiftRecord.starts_at.desc(), ShiftRecord.id.desc()).limit(1)
        )
    holidays = await list_holidays(sm, start.date(), end.date())
    taken = frozenset(s.starts_at.astimezone(zone).date() for s in shifts)
    return RotationContext(tuple(leaders.values()), HolidayCalendar.of(holidays), taken, previous)


def _holiday_of(row: HolidayRecord) -> Holiday:
    return Holiday(row.day, row.name, HolidayKind(row.kind))
