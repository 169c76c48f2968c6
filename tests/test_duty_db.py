"""The duty schedule in the database (SQLite and PostgreSQL): changes with their audit rows,
the lookup reading fresh data, overlaps refused even when offices save at the same moment,
and nothing half-saved when a publish or an import fails.

The schedule is global (one leader on duty at a time, whoever saved the shift), so each test
starts from an empty schedule: its own SQLite file, or this module's own PostgreSQL database
with the schedule's tables emptied.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import duty, duty_audit, duty_bulk
from ivr.db.duty_models import LeaderRecord, ScheduleAudit, ShiftRecord
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.migrate import upgrade_database
from ivr.duty.holidays import HolidayKind
from ivr.duty.importing import ImportedShift
from ivr.duty.model import UNSAVED, Duty, Leader, Shift
from ivr.errors import (
    ImportRejected,
    InvalidLeader,
    InvalidShift,
    LeaderUnavailable,
    RecordNotFound,
    ShiftOverlap,
)
from tests.db_fixtures import (
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
    run_blocking,
)

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime(2031, 3, 1, 8, 0, tzinfo=BEIJING)
OFFICE = "office-zhang"
SCHEDULE_TABLES = "schedule_audit, duty_shifts, holidays, leaders"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of March 2031, Beijing time (hour 24 is the next midnight)."""
    return datetime(2031, 3, day, tzinfo=BEIJING) + timedelta(hours=hour, minutes=minute)


@pytest.fixture(scope="session")
def duty_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of the duty tests' own, at the newest schema."""
    name = run_blocking(create_postgres_database())
    try:
        url = postgres_url(name)
        run_blocking(upgrade_database(url))
        yield url
    finally:
        run_blocking(drop_postgres_database(name))


async def _empty_schedule(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {SCHEDULE_TABLES} RESTART IDENTITY"))
    finally:
        await engine.dispose()


@pytest.fixture
def schedule_url(database_url: str, request: pytest.FixtureRequest) -> str:
    """A database whose schedule is empty: a fresh SQLite file, or ours on PostgreSQL."""
    if database_url.startswith("sqlite"):
        return database_url
    url = str(request.getfixturevalue("duty_postgres_url"))
    run_blocking(_empty_schedule(url))
    return url


@pytest.fixture
async def sm(schedule_url: str) -> AsyncIterator[Sessions]:
    """Sessions on the test's database."""
    engine = make_engine(schedule_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def add_leader(sm: Sessions, name: str = "王伟", endpoint: str = "PJSIP/8001") -> Leader:
    """A saved, active leader."""
    return await duty.create_leader(
        sm, name=name, title="副市长", endpoints=[endpoint], actor=OFFICE, at=NOW
    )


async def add_shift(sm: Sessions, leader: Leader, start: datetime, end: datetime) -> Shift:
    """A saved shift of `leader`."""
    draft = Shift(UNSAVED, leader.id, start, end, "")
    return await duty.create_shift(sm, draft, actor=OFFICE, now=NOW, zone=BEIJING)


async def count(sm: Sessions, model: type[object]) -> int:
    """Rows in a table."""
    async with sm() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_new_leader_is_audited(sm: Sessions) -> None:
    leader = await duty.create_leader(
        sm,
        name=" 王伟 ",
        title="副市长",
        endpoints=["PJSIP/8001", "PJSIP/13800000000@trunk"],
        actor=OFFICE,
        at=NOW,
    )
    assert await duty.list_leaders(sm) == [leader]
    assert leader.endpoints == ("PJSIP/8001", "PJSIP/13800000000@trunk") and leader.active
    [entry] = await duty_audit.audit_log(sm)
    assert (entry.actor, entry.at, entry.entity, entry.entity_id, entry.action) == (
        OFFICE,
        NOW,
        "leader",
        str(leader.id),
        "create",
    )
    assert entry.before is None
    assert entry.after == {
        "name": "王伟",
        "title": "副市长",
        "active": True,
        "endpoints": ["PJSIP/8001", "PJSIP/13800000000@trunk"],
    }


async def test_a_refused_leader_leaves_nothing_behind(sm: Sessions) -> None:
    with pytest.raises(InvalidLeader, match="no endpoint to be reached at"):
        await duty.create_leader(sm, name="王伟", title="", endpoints=[], actor=OFFICE, at=NOW)
    with pytest.raises(InvalidLeader, match="not a dial string"):
        await duty.create_leader(
            sm, name="王伟", title="", endpoints=["PJSIP/8001&PJSIP/8002"], actor=OFFICE, at=NOW
        )
    await add_leader(sm)
    with pytest.raises(InvalidLeader, match="a leader named 王伟 already exists"):
        await add_leader(sm, endpoint="PJSIP/8009")
    assert await count(sm, LeaderRecord) == 1
    assert await count(sm, ScheduleAudit) == 1


async def test_deactivating_a_leader_takes_them_off_duty_at_once(sm: Sessions) -> None:
    leader = await add_leader(sm)
    shift = await add_shift(sm, leader, at(5, 9), at(5, 12))
    assert await duty.duty_now(sm, at(5, 10)) == Duty(shift, leader)
    later = NOW + timedelta(hours=1)
    gone = await duty.update_leader(sm, leader.id, active=False, actor="office-li", at=later)
    assert not gone.active
    assert await duty.duty_now(sm, at(5, 10)) is None
    [entry, _] = await duty_audit.audit_log(sm, entity="leader")
    assert (entry.action, entry.actor, entry.at) == ("deactivate", "office-li", later)
    assert entry.before is not None and entry.before["active"] is True
    assert entry.after is not None and entry.after["active"] is False
    with pytest.raises(LeaderUnavailable, match="leader 王伟 is inactive"):
        await add_shift(sm, leader, at(6, 9), at(6, 12))
    back = await duty.update_leader(sm, leader.id, active=True, actor=OFFICE, at=later)
    assert back.active and (await duty_audit.audit_log(sm, limit=1))[0].action == "activate"


async def test_a_change_reaches_the_next_lookup(sm: Sessions) -> None:
    wang, li = await add_leader(sm), await add_leader(sm, "李娜", "Local/9101@leaders-sim/n")
    shift = await add_shift(sm, wang, at(5, 9), at(5, 12))
    assert await duty.duty_now(sm, at(5, 9)) == Duty(shift, wang)
    assert await duty.duty_now(sm, at(5, 12)) is None
    assert await duty.duty_now(sm, at(5, 12).astimezone(ZoneInfo("UTC"))) is None
    moved = await duty.update_shift(
        sm, shift.id, leader_id=li.id, ends_at=at(5, 13), actor=OFFICE, now=NOW, zone=BEIJING
    )
    assert await duty.duty_now(sm, at(5, 12, 30)) == Duty(moved, li)
    await duty.delete_shift(sm, shift.id, actor=OFFICE, now=NOW, zone=BEIJING)
    assert await duty.duty_now(sm, at(5, 10)) is None
    actions = [e.action for e in await duty_audit.audit_log(sm, entity="shift")]
    assert actions == ["delete", "update", "create"]
    with pytest.raises(ValueError, match="naive"):
        await duty.duty_now(sm, datetime(2031, 3, 5, 10))


async def test_bad_shifts_are_refused_and_nothing_is_written(sm: Sessions) -> None:
    wang = await add_leader(sm)
    await add_shift(sm, wang, at(5, 9), at(5, 12))
    before = await count(sm, ShiftRecord), await count(sm, ScheduleAudit)
    with pytest.raises(ShiftOverlap, match="overlaps 王伟's shift 2031-03-05 09:00–12:00"):
        await add_shift(sm, wang, at(5, 11, 59), at(5, 14))
    with pytest.raises(InvalidShift, match="before it starts"):
        await add_shift(sm, wang, at(6, 12), at(6, 9))
    with pytest.raises(InvalidShift, match="would start in the past"):
        await add_shift(sm, wang, at(1, 7), at(1, 9))
    with pytest.raises(LeaderUnavailable, match="no leader with id 999"):
        draft = Shift(UNSAVED, 999, at(6, 9), at(6, 12))
        await duty.create_shift(sm, draft, actor=OFFICE, now=NOW, zone=BEIJING)
    with pytest.raises(RecordNotFound):
        await duty.update_shift(sm, 999, note="x", actor=OFFICE, now=NOW, zone=BEIJING)
    assert (await count(sm, ShiftRecord), await count(sm, ScheduleAudit)) == before
    touching = await add_shift(sm, wang, at(5, 12), at(5, 24))
    assert touching.ends_at == at(6, 0)


async def test_a_past_shift_cannot_be_deleted(sm: Sessions) -> None:
    shift = await add_shift(sm, await add_leader(sm), at(5, 9), at(5, 12))
    with pytest.raises(InvalidShift, match="is over"):
        await duty.delete_shift(sm, shift.id, actor=OFFICE, now=at(5, 12), zone=BEIJING)
    assert await duty.get_shift(sm, shift.id) == shift


async def test_offices_saving_overlapping_shifts_at_once_one_wins(
    schedule_url: str, sm: Sessions
) -> None:
    offices = 8
    leaders = [await add_leader(sm, f"领导{n}", f"PJSIP/80{n:02d}") for n in range(offices)]
    # Each office is its own process with its own engine and connections.
    engines = [make_engine(schedule_url) for _ in range(offices)]
    try:

        async def save(n: int) -> Shift:
            start = at(5, 9, minute=n)  # all of them share 09:07-12:00
            draft = Shift(UNSAVED, leaders[n].id, start, start + timedelta(hours=3))
            return await duty.create_shift(
                make_sessionmaker(engines[n]), draft, actor=f"office-{n}", now=NOW, zone=BEIJING
            )

        results = await asyncio.gather(*(save(n) for n in range(offices)), return_exceptions=True)
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))
    won = [r for r in results if isinstance(r, Shift)]
    lost = [r for r in results if not isinstance(r, Shift)]
    assert len(won) == 1, results
    assert all(isinstance(r, ShiftOverlap) for r in lost), lost
    assert await duty.shifts_between(sm, at(5, 0), at(6, 0)) == won
    assert len(await duty_audit.audit_log(sm, entity="shift")) == 1


async def test_publish_is_all_or_nothing(sm: Sessions) -> None:
    wang, li = await add_leader(sm), await add_leader(sm, "李娜", "PJSIP/8002")
    drafts = [
        Shift(UNSAVED, wang.id, at(10, 9), at(10, 12)),
        Shift(UNSAVED, li.id, at(24, 9), at(24, 12)),
        Shift(UNSAVED, li.id, at(24, 11), at(24, 13)),
    ]
    with pytest.raises(ImportRejected) as refused:
        await duty_bulk.publish_shifts(sm, drafts, actor=OFFICE, now=NOW, zone=BEIJING)
    assert refused.value.problems == ("shift 3: the shift 2031-03-24 11:00–13:00 overlaps shift 2",)
    assert await count(sm, ShiftRecord) == 0
    saved = await duty_bulk.publish_shifts(sm, drafts[:2], actor=OFFICE, now=NOW, zone=BEIJING)
    assert [s.starts_at for s in saved] == [at(10, 9), at(24, 9)]
    assert [e.action for e in await duty_audit.audit_log(sm, entity="shift")] == ["publish"] * 2


async def test_an_import_replaces_the_future_of_its_months_with_audit_rows(sm: Sessions) -> None:
    wang, li = await add_leader(sm), await add_leader(sm, "李娜", "PJSIP/8002")
    old = await add_shift(sm, wang, at(20, 9), at(20, 12))
    april = await add_shift(
        sm, li, datetime(2031, 4, 2, 9, tzinfo=BEIJING), datetime(2031, 4, 2, 12, tzinfo=BEIJING)
    )
    rows = [
        ImportedShift("row 2", Shift(UNSAVED, li.id, at(12, 9), at(12, 12))),
        ImportedShift("row 3", Shift(UNSAVED, wang.id, at(26, 9), at(26, 12), "市长接听日")),
    ]
    done = await duty_bulk.import_schedule(sm, rows, actor=OFFICE, now=NOW, zone=BEIJING)
    assert done.removed == (old,) and len(done.added) == 2 and done.unchanged == 0
    left = await duty.shifts_between(sm, at(1, 0), datetime(2031, 5, 1, tzinfo=BEIJING))
    assert [(s.leader_id, s.starts_at, s.note) for s in left] == [
        (li.id, at(12, 9), ""),
        (wang.id, at(26, 9), "市长接听日"),
        (li.id, april.starts_at, ""),
    ]
    entries = await duty_audit.audit_log(sm, entity="shift")
    imported = [e for e in entries if e.action == "import"]
    assert len(imported) == 3
    assert sum(1 for e in imported if e.after is None and e.before is not None) == 1


async def test_a_failing_import_leaves_the_schedule_as_it_was(
    sm: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    wang = await add_leader(sm)
    old = await add_shift(sm, wang, at(20, 9), at(20, 12))
    audited = await count(sm, ScheduleAudit)
    bad = [
        ImportedShift("row 2", Shift(UNSAVED, wang.id, at(12, 9), at(12, 12))),
        ImportedShift("row 3", Shift(UNSAVED, wang.id, at(12, 11), at(12, 13))),
    ]
    with pytest.raises(
        ImportRejected, match="row 3: the shift 2031-03-12 11:00–13:00 overlaps row 2"
    ):
        await duty_bulk.import_schedule(sm, bad, actor=OFFICE, now=NOW, zone=BEIJING)
    # a failure half-way through the writes (the old shift already deleted) rolls back too
    real_add = duty.add_shift
    written: list[Shift] = []

    async def failing_add(session: AsyncSession, shift: Shift, *, at: datetime) -> Shift:
        if written:
            raise RuntimeError("the database went away")
        written.append(await real_add(session, shift, at=at))
        return written[-1]

    monkeypatch.setattr(duty_bulk, "add_shift", failing_add)
    good = [bad[0], ImportedShift("row 3", Shift(UNSAVED, wang.id, at(13, 9), at(13, 12)))]
    with pytest.raises(RuntimeError):
        await duty_bulk.import_schedule(sm, good, actor=OFFICE, now=NOW, zone=BEIJING)
    assert written
    assert await duty.shifts_between(sm, at(1, 0), at(31, 24)) == [old]
    assert await count(sm, ScheduleAudit) == audited


async def test_holidays_are_audited_and_feed_the_rotation(sm: Sessions) -> None:
    wang, li = await add_leader(sm), await add_leader(sm, "李娜", "PJSIP/8002")
    await duty_bulk.save_holiday(sm, date(2031, 4, 4), "清明节", "holiday", actor=OFFICE, at=NOW)
    await duty_bulk.save_holiday(sm, date(2031, 4, 4), "清明", "holiday", actor=OFFICE, at=NOW)
    await duty_bulk.save_holiday(sm, date(2031, 4, 12), "", "workday", actor=OFFICE, at=NOW)
    await duty_bulk.save_holiday(sm, date(2031, 5, 1), "劳动节", "holiday", actor=OFFICE, at=NOW)
    await duty_bulk.delete_holiday(sm, date(2031, 5, 1), actor=OFFICE, at=NOW)
    listed = await duty_bulk.list_holidays(sm, date(2031, 1, 1), date(2032, 1, 1))
    assert [(h.day.day, h.name, h.kind) for h in listed] == [
        (4, "清明", HolidayKind.HOLIDAY),
        (12, "调休上班", HolidayKind.WORKDAY),
    ]
    actions = [e.action for e in await duty_audit.audit_log(sm, entity="holiday")]
    assert actions == ["delete", "create", "create", "update", "create"]
    with pytest.raises(RecordNotFound):
        await duty_bulk.delete_holiday(sm, date(2031, 5, 1), actor=OFFICE, at=NOW)
    await add_shift(sm, li, at(30, 9), at(30, 12))
    april = datetime(2031, 4, 9, 9, tzinfo=BEIJING)
    await add_shift(sm, wang, april, april + timedelta(hours=3))
    context = await duty_bulk.rotation_context(sm, date(2031, 4, 1), 1, BEIJING)
    assert context.previous_leader_id == li.id
    assert context.taken == {date(2031, 4, 9)}
    assert not context.holidays.is_working_day(date(2031, 4, 4))
    assert context.holidays.is_working_day(date(2031, 4, 12))
    assert set(context.leaders) == {wang, li}
