"""The duty schedule in the database: leaders, shifts, and who is on duty now.

Every change is one transaction together with its audit row (who, when, before, after).
Checks and writes run under the schedule lock, so two offices saving overlapping shifts at
the same moment cannot both succeed:

- PostgreSQL: a writing transaction first takes a transaction-level advisory lock on the
  schedule, so writers go one at a time; under READ COMMITTED each statement sees what was
  committed before it, so the second writer's overlap check sees the first one's shift.
- SQLite: every transaction begins IMMEDIATE (ivr.db.engine): writers are serialised.

Readers take no lock. `duty_now` reads the shifts covering the instant on every call, so a
saved change reaches the next call without a restart. Holidays, publishing and imports are
in ivr.db.duty_bulk, the audit log in ivr.db.duty_audit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db.duty_audit import audit, leader_json, shift_json
from ivr.db.duty_models import LeaderRecord, ShiftRecord
from ivr.duty.lookup import duty_at
from ivr.duty.model import UNSAVED, Duty, Leader, Shift
from ivr.duty.validate import check_leader, check_shift, span
from ivr.errors import InvalidLeader, InvalidShift, RecordNotFound

Sessions = async_sessionmaker[AsyncSession]
# Key of the advisory lock all schedule writers take (any fixed pair of 32-bit numbers).
_SCHEDULE_LOCK = (12345_04, 1)
# Longer than any shift can be (validation ends a shift by 24:00 of the day it starts).
_LONGEST_SHIFT = timedelta(days=2)


async def duty_now(sm: Sessions, at: datetime) -> Duty | None:
    """Who is on duty at `at` (timezone-aware), read fresh from the database."""
    if at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r}: pass a timezone-aware one")
    query = (
        select(ShiftRecord, LeaderRecord)
        .join(LeaderRecord, LeaderRecord.id == ShiftRecord.leader_id)
        .where(ShiftRecord.starts_at <= at, ShiftRecord.ends_at > at)
        # a shift ends on the day it starts: this bound keeps the index scan to two days
        .where(ShiftRecord.starts_at > at - _LONGEST_SHIFT)
    )
    async with sm() as session:
        rows = (await session.execute(query)).all()
    leaders = {leader.id: leader_of(leader) for _, leader in rows}
    return duty_at([shift_of(shift) for shift, _ in rows], leaders, at)


async def list_leaders(sm: Sessions) -> list[Leader]:
    """Every leader, active ones first, by name."""
    async with sm() as session:
        return sorted((await leader_map(session)).values(), key=lambda x: (not x.active, x.name))


async def leaders_by_id(sm: Sessions) -> dict[int, Leader]:
    """Every leader by id, to name the leader of each shift."""
    async with sm() as session:
        return await leader_map(session)


async def get_leader(sm: Sessions, leader_id: int) -> Leader:
    """One leader; RecordNotFound when there is none."""
    async with sm() as session:
        return leader_of(await _leader_row(session, leader_id))


async def create_leader(
    sm: Sessions, *, name: str, title: str, endpoints: Iterable[str], actor: str, at: datetime
) -> Leader:
    """Validate and save a new, active leader."""
    fresh = check_leader(name, title, endpoints)
    async with sm.begin() as session:
        await lock_schedule(session)
        await _check_name_free(session, fresh.name, None)
        row = LeaderRecord(
            name=fresh.name,
            title=fresh.title,
            endpoints=list(fresh.endpoints),
            active=True,
            created_at=at,
            updated_at=at,
        )
        session.add(row)
        await session.flush()
        leader = leader_of(row)
        audit(session, at, actor, "leader", leader.id, "create", None, leader_json(leader))
        return leader


async def update_leader(
    sm: Sessions,
    leader_id: int,
    *,
    actor: str,
    at: datetime,
    name: str | None = None,
    title: str | None = None,
    endpoints: Sequence[str] | None = None,
    active: bool | None = None,
) -> Leader:
    """Change a leader's fields (those given); deactivating keeps their shifts on record."""
    async with sm.begin() as session:
        await lock_schedule(session)
        row = await _leader_row(session, leader_id)
        old = leader_of(row)
        new = check_leader(
            old.name if name is None else name,
            old.title if title is None else title,
            old.endpoints if endpoints is None else endpoints,
        )
        await _check_name_free(session, new.name, leader_id)
        row.name, row.title, row.endpoints = new.name, new.title, list(new.endpoints)
        row.active = old.active if active is None else active
        row.updated_at = at
        leader = leader_of(row)
        action = {(True, False): "deactivate", (False, True): "activate"}.get(
            (old.active, leader.active), "update"
        )
        audit(
            session, at, actor, "leader", leader_id, action, leader_json(old), leader_json(leader)
        )
        return leader


async def shifts_between(sm: Sessions, start: datetime, end: datetime) -> list[Shift]:
    """The shifts overlapping [start, end), by start time."""
    async with sm() as session:
        return await overlapping(session, start, end)


async def get_shift(sm: Sessions, shift_id: int) -> Shift:
    """One shift; RecordNotFound when there is none."""
    async with sm() as session:
        return shift_of(await _shift_row(session, shift_id))


async def create_shift(
    sm: Sessions, draft: Shift, *, actor: str, now: datetime, zone: tzinfo
) -> Shift:
    """Validate and save a new shift (`draft.id` is ignored)."""
    async with sm.begin() as session:
        await lock_schedule(session)
        leaders = await leader_map(session)
        others = await overlapping(session, draft.starts_at, draft.ends_at)
        check_shift(draft, leaders, others, now=now, zone=zone)
        shift = await add_shift(session, draft, at=now)
        audit(session, now, actor, "shift", shift.id, "create", None, shift_json(shift, leaders))
        return shift


async def update_shift(
    sm: Sessions,
    shift_id: int,
    *,
    actor: str,
    now: datetime,
    zone: tzinfo,
    leader_id: int | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    note: str | None = None,
) -> Shift:
    """Change a shift's fields (those given), checked as a new shift would be."""
    async with sm.begin() as session:
        await lock_schedule(session)
        row = await _shift_row(session, shift_id)
        old = shift_of(row)
        new = Shift(
            id=shift_id,
            leader_id=old.leader_id if leader_id is None else leader_id,
            starts_at=old.starts_at if starts_at is None else starts_at,
            ends_at=old.ends_at if ends_at is None else ends_at,
            note=old.note if note is None else note,
        )
        leaders = await leader_map(session)
        others = await overlapping(session, new.starts_at, new.ends_at)
        check_shift(new, leaders, others, now=now, zone=zone, before=old)
        row.leader_id, row.starts_at, row.ends_at = new.leader_id, new.starts_at, new.ends_at
        row.note, row.updated_at = new.note, now
        before, after = shift_json(old, leaders), shift_json(new, leaders)
        audit(session, now, actor, "shift", shift_id, "update", before, after)
        return new


async def delete_shift(
    sm: Sessions, shift_id: int, *, actor: str, now: datetime, zone: tzinfo
) -> Shift:
    """Delete a shift that has not ended yet (past ones stay as a record)."""
    async with sm.begin() as session:
        await lock_schedule(session)
        row = await _shift_row(session, shift_id)
        old = shift_of(row)
        if old.ends_at <= now:
            raise InvalidShift(f"the shift {span(old, zone)} is over: past shifts are kept")
        await session.delete(row)
        before = shift_json(old, await leader_map(session))
        audit(session, now, actor, "shift", shift_id, "delete", before, None)
        return old


async def lock_schedule(session: AsyncSession) -> None:
    """Make this transaction the schedule's only writer until it ends."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(*_SCHEDULE_LOCK)))
    # SQLite: the transaction began IMMEDIATE, holding the database's write lock already.


async def leader_map(session: AsyncSession) -> dict[int, Leader]:
    """Every leader by id (a city has a handful)."""
    return {row.id: leader_of(row) for row in await session.scalars(select(LeaderRecord))}


async def overlapping(session: AsyncSession, start: datetime, end: datetime) -> list[Shift]:
    """The shifts sharing an instant with [start, end), by start time."""
    query = select(ShiftRecord).where(ShiftRecord.starts_at < end, ShiftRecord.ends_at > start)
    rows = await session.scalars(query.order_by(ShiftRecord.starts_at, ShiftRecord.id))
    return [shift_of(row) for row in rows]


async def add_shift(session: AsyncSession, shift: Shift, *, at: datetime) -> Shift:
    """Insert a checked shift; the saved one, with its id."""
    row = ShiftRecord(
        leader_id=shift.leader_id,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        note=shift.note,
        created_at=at,
        updated_at=at,
    )
    session.add(row)
    await session.flush()
    return shift_of(row)


def leader_of(row: LeaderRecord) -> Leader:
    """The pure view of a leader row."""
    endpoints = tuple(str(e) for e in row.endpoints)
    return Leader(row.id, row.name, row.title, endpoints, row.active)


def shift_of(row: ShiftRecord) -> Shift:
    """The pure view of a shift row."""
    return Shift(row.id, row.leader_id, row.starts_at, row.ends_at, row.note)


async def _leader_row(session: AsyncSession, leader_id: int) -> LeaderRecord:
    row = await session.get(LeaderRecord, leader_id)
    if row is None:
        raise RecordNotFound(f"there is no leader with id {leader_id}")
    return row


async def _shift_row(session: AsyncSession, shift_id: int) -> ShiftRecord:
    row = await session.get(ShiftRecord, shift_id) if shift_id != UNSAVED else None
    if row is None:
        raise RecordNotFound(f"there is no shift with id {shift_id}")
    return row


async def _check_name_free(session: AsyncSession, name: str, leader_id: int | None) -> None:
    # Under the schedule lock, so the unique constraint is never what refuses a name.
    taken = await session.scalar(select(LeaderRecord.id).where(LeaderRecord.name == name))
    if taken is not None and taken != leader_id:
        raise InvalidLeader(f"a leader named {name} already exists")
