"""Cases: drafting, registration (受理) with stale-edit detection, and a caller's history."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import calls, cases
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.models import Case, CaseEvent, CaseNumberCounter, CaseStatus, Priority
from ivr.db.numbering import parse_case_number, service_day
from ivr.errors import RecordNotFound, StaleEdit, ValidationError

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def new_number() -> str:
    """A caller number no other test uses."""
    return f"1{uuid.uuid4().int % 10**10:010d}"


async def draft(sm: Sessions, **overrides: Any) -> int:
    """A draft as the IVR would make it, for a fresh call unless told otherwise."""
    fields: dict[str, Any] = {
        "call_uniqueid": str(uuid.uuid4()),
        "caller_number": new_number(),
        "transcript": "我家楼下的路灯坏了三天了",
        "transcript_available": True,
        "category": "城市管理",
        "department": "城管局",
        "priority": "normal",
        "summary": "路灯损坏",
        "address": "人民路12号",
        "contact_phone": None,
    }
    return await cases.create_draft(sm, **(fields | overrides))


async def events_of(sm: Sessions, case_id: int) -> list[CaseEvent]:
    """The case's audit trail, oldest first."""
    async with sm() as session:
        query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        return list(await session.scalars(query))


async def test_draft_is_saved_with_its_audit_entry_and_call(db_sessionmaker: Sessions) -> None:
    uid = str(uuid.uuid4())
    case_id = await draft(db_sessionmaker, call_uniqueid=uid, priority="urgent")
    case = await cases.get_case(db_sessionmaker, case_id)
    assert (case.status, case.number, case.version, case.priority) == (
        CaseStatus.DRAFT,
        None,
        1,
        Priority.URGENT,
    )
    assert case.created_at.tzinfo is not None and case.created_at.utcoffset() == timedelta(0)
    [created] = await events_of(db_sessionmaker, case_id)
    assert (created.kind, created.actor, created.before) == ("created", "ivr", None)
    assert created.after is not None and created.after["summary"] == "路灯损坏"
    assert await cases.case_for_call(db_sessionmaker, uid) == case
    call = await calls.get_call(db_sessionmaker, uid)
    assert call is not None and call.case_id == case_id


async def test_a_call_gets_one_draft_however_often_the_flow_retries(
    db_sessionmaker: Sessions,
) -> None:
    uid = str(uuid.uuid4())
    first = await draft(db_sessionmaker, call_uniqueid=uid)
    again = await draft(db_sessionmaker, call_uniqueid=uid)
    assert first == again


async def test_draft_of_an_already_abandoned_call_is_flagged(db_sessionmaker: Sessions) -> None:
    uid = str(uuid.uuid4())
    await calls.record_queue_join(db_sessionmaker, uid, at=T0, queue="q")
    await calls.record_abandon(db_sessionmaker, uid, at=T0, wait_seconds=5)
    case = await cases.get_case(db_sessionmaker, await draft(db_sessionmaker, call_uniqueid=uid))
    assert (case.abandoned, case.needs_callback) == (True, True)


async def test_registration_numbers_versions_and_audits_the_case(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    case_id, at = await draft(db_sessionmaker), fresh_instant()
    registered = await cases.register_case(
        db_sessionmaker,
        case_id,
        actor="agent:li",
        expected_version=1,
        at=at,
        edits={"summary": "人民路路灯损坏三天", "priority": "important", "caller_name": "王"},
    )
    assert registered.status is CaseStatus.REGISTERED
    assert registered.version == 2
    assert parse_case_number(registered.number or "") == (service_day(at), 1)
    assert (registered.summary, registered.priority, registered.caller_name) == (
        "人民路路灯损坏三天",
        Priority.IMPORTANT,
        "王",
    )
    assert registered == await cases.get_case(db_sessionmaker, case_id)
    event = (await events_of(db_sessionmaker, case_id))[-1]
    assert (event.kind, event.actor) == ("registered", "agent:li")
    assert event.before == {
        "summary": "路灯损坏",
        "priority": "normal",
        "caller_name": None,
        "status": "draft",
        "number": None,
    }
    assert event.after is not None and event.after["number"] == registered.number


async def test_stale_edit_is_refused_and_writes_nothing(
    db_sessionmaker: Sessions, fresh_instant: Callable[[], datetime]
) -> None:
    case_id, at = await draft(db_sessionmaker), fresh_instant()
    await cases.register_case(
        db_sessionmaker, case_id, actor="agent:li", edits={}, expected_version=1, at=at
    )
    before = await cases.get_case(db_sessionmaker, case_id)
    with pytest.raises(StaleEdit, match="reload"):
        await cases.register_case(
            db_sessionmaker,
            case_id,
            actor="agent:zhao",
            edits={"summary": "覆盖"},
            expected_version=1,
            at=at,
        )
    assert await cases.get_case(db_sessionmaker, case_id) == before
    async with db_sessionmaker() as session:
        counter = await session.get(CaseNumberCounter, service_day(at))
    assert counter is not None and counter.value == 1  # no number was used up


async def test_the_slower_of_two_agents_gets_a_stale_edit(database_url: str) -> None:
    engines = [make_engine(database_url) for _ in range(2)]
    first, second = (make_sessionmaker(e) for e in engines)
    try:
        case_id = await draft(first)
        results = await asyncio.gather(
            *(
                cases.register_case(sm, case_id, actor=a, edits={}, expected_version=1)
                for sm, a in ((first, "agent:li"), (second, "agent:zhao"))
            ),
            return_exceptions=True,
        )
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))
    assert sorted(type(r).__name__ for r in results) == ["CaseView", "StaleEdit"]


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ({"status": "archived"}, "cannot set status"),
        ({"nonsense": 1, "summary": "ok"}, "cannot set nonsense"),
        ({"priority": "very"}, "priority must be one of normal, urgent, important"),
        ({"whistleblower": "yes"}, "whistleblower must be a bool"),
        ({"summary": None}, "summary cannot be empty"),
        ({"caller_name": "王" * 65}, "caller_name is longer than 64"),
    ],
)
async def test_bad_edits_are_refused_by_name(
    db_sessionmaker: Sessions, edits: dict[str, object], message: str
) -> None:
    case_id = await draft(db_sessionmaker)
    with pytest.raises(ValidationError, match=message):
        await cases.register_case(
            db_sessionmaker, case_id, actor="agent:li", edits=edits, expected_version=1
        )
    assert (await cases.get_case(db_sessionmaker, case_id)).status is CaseStatus.DRAFT


async def test_registering_twice_is_refused(db_sessionmaker: Sessions) -> None:
    case_id = await draft(db_sessionmaker)
    await cases.register_case(
        db_sessionmaker, case_id, actor="agent:li", edits={}, expected_version=1
    )
    with pytest.raises(ValidationError, match="already registered"):
        await cases.register_case(
            db_sessionmaker, case_id, actor="agent:li", edits={}, expected_version=2
        )


async def test_unknown_case_is_record_not_found(db_sessionmaker: Sessions) -> None:
    with pytest.raises(RecordNotFound):
        await cases.get_case(db_sessionmaker, 10**9)
    with pytest.raises(RecordNotFound):
        await cases.register_case(
            db_sessionmaker, 10**9, actor="agent:li", edits={}, expected_version=1
        )
    assert await cases.case_for_call(db_sessionmaker, str(uuid.uuid4())) is None


async def test_draft_with_bad_priority_is_refused(db_sessionmaker: Sessions) -> None:
    with pytest.raises(ValidationError, match="priority"):
        await draft(db_sessionmaker, priority="一般件")


async def test_history_lists_open_cases_first_then_newest(db_sessionmaker: Sessions) -> None:
    number = new_number()
    ids = [
        await draft(db_sessionmaker, caller_number=number, at=T0 + timedelta(days=day))
        for day in range(4)
    ]
    await _archive(db_sessionmaker, ids[3])  # the newest is closed
    history = await cases.caller_history(db_sessionmaker, number)
    assert [c.id for c in history] == [ids[2], ids[1], ids[0], ids[3]]
    assert [c.is_open for c in history] == [True, True, True, False]
    limited = await cases.caller_history(db_sessionmaker, number, limit=2, exclude_case_id=ids[2])
    assert [c.id for c in limited] == [ids[1], ids[0]]
    assert await cases.caller_history(db_sessionmaker, new_number()) == []


async def _archive(sm: Sessions, case_id: int) -> None:
    # The workflow past registration is not built yet: archive straight in the table.
    async with sm.begin() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        case.status = CaseStatus.ARCHIVED.value


async def test_events_count_in_the_view(db_sessionmaker: Sessions) -> None:
    case_id = await draft(db_sessionmaker)
    view = await cases.register_case(
        db_sessionmaker, case_id, actor="agent:li", edits={}, expected_version=1
    )
    async with db_sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)
        )
    assert view.events == count == 2
