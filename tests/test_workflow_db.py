"""The workflow in the database (SQLite and PostgreSQL): each move with its audit entry,
refusals that leave nothing behind, deadlines from the office's holiday list, department
isolation, and two offices acting at once of whom exactly one wins.

The PostgreSQL database is shared by the session, so every test lists departments of its
own (a fresh suffix) and uses categories no other test uses.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import cases, duty_bulk, registration, workflow, workflow_catalogue
from ivr.db import workflow_close as closing
from ivr.db import workflow_handling as handling
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.models import CaseEvent, CaseStatus
from ivr.db.workflow_models import CaseAssignment, ExtensionRequest
from ivr.db.workflow_state import Actor
from ivr.db.workflow_views import case_file, department_desk, office_board
from ivr.errors import RecordNotFound, ValidationError
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import ActionRefused, Party, RefusalKind
from tests.test_workflow_calendar import bj

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
RULES = WorkflowRules()
OFFICE = Actor("office-wang", Party.OFFICE)
MONDAY = bj("2031-03-03", 10)


def fresh(name: str) -> str:
    """A department or category name no other test uses."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def listed(sm: Sessions, *names: str) -> None:
    """Put departments on the list."""
    for name in names:
        await workflow_catalogue.add_department(sm, name, actor="office-wang", at=MONDAY)


async def registered(sm: Sessions, at: datetime = MONDAY, **fields: Any) -> int:
    """A walk-in case, registered at `at`; its id."""
    edits: dict[str, Any] = {
        "category": "urban",
        "department": "",
        "priority": "normal",
        "summary": "人民路12号路灯坏了三天",
        "address": "人民路12号",
    }
    case = await registration.open_manual_case(
        sm,
        actor="agent-li",
        channel="walk_in",
        caller_number=f"139{uuid.uuid4().int % 10**8:08d}",
        edits=edits | fields,
        at=at,
    )
    return case.id


def desk_of(department: str) -> Actor:
    """A user of `department`."""
    return Actor(f"user-{department[-8:]}", Party.DEPARTMENT, department)


async def kinds(sm: Sessions, case_id: int) -> list[str]:
    """The audit trail's kinds, oldest first."""
    async with sm() as session:
        query = select(CaseEvent.kind).where(CaseEvent.case_id == case_id)
        return list(await session.scalars(query.order_by(CaseEvent.id)))


async def count(sm: Sessions, model: Any, case_id: int) -> int:
    """How many rows of `model` the case has."""
    async with sm() as session:
        query = select(func.count()).select_from(model).where(model.case_id == case_id)
        return int(await session.scalar(query) or 0)


async def refused(work: Awaitable[object], kind: RefusalKind, message: str) -> None:
    """The move must be refused with this kind and message."""
    with pytest.raises(ActionRefused, match=message) as raised:
        await work
    assert raised.value.kind is kind


async def test_dispatch_sets_deadlines_and_audits(db_sessionmaker: Sessions) -> None:
    sm, lead, co = db_sessionmaker, fresh("城管局"), fresh("住建局")
    await listed(sm, lead, co)
    case_id = await registered(sm)
    view = await workflow.dispatch(
        sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, department=lead, co=[co]
    )
    assert (view.status, view.department) == (CaseStatus.DISPATCHED, lead)
    found = await case_file(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES)
    assert [(a.department, a.role, a.round) for a in found.assignments] == [
        (lead, "lead", 1),
        (co, "co", 1),
    ]
    first = found.assignments[0]
    assert first.accept_due == bj("2031-03-04", 10)
    assert first.reply_due == bj("2031-03-10", 10)
    assert first.return_until == bj("2031-03-05", 10)
    event = found.events[-1]
    assert (event.kind, event.actor) == ("dispatched", "office-wang")
    assert event.before == {"status": "registered", "department": ""}
    assert event.after is not None and event.after["co_departments"] == [co]
    assert event.after["reply_due"] == bj("2031-03-10", 10).isoformat()


async def test_urgent_utility_cases_have_minutes_and_holidays_are_skipped(
    db_sessionmaker: Sessions,
) -> None:
    sm, gas = db_sessionmaker, fresh("燃气公司")
    await listed(sm, gas)
    # the duty schedule's holiday list is the workflow's: Monday 2033-05-02 off
    await duty_bulk.save_holiday(
        sm, date(2033, 5, 2), "劳动节", "holiday", actor="office-wang", at=MONDAY
    )
    friday = bj("2033-04-29", 23)
    leak = await registered(sm, friday, priority="urgent", category="utilities")
    lamp = await registered(sm, friday)
    for case_id in (leak, lamp):
        await workflow.dispatch(sm, case_id, actor=OFFICE, at=friday, rules=RULES, department=gas)
    leak_row = (await case_file(sm, leak, actor=OFFICE, at=friday, rules=RULES)).assignments[0]
    lamp_row = (await case_file(sm, lamp, actor=OFFICE, at=friday, rules=RULES)).assignments[0]
    assert leak_row.accept_due == friday + timedelta(minutes=15)  # nights count for a leak
    assert lamp_row.accept_due == bj("2033-05-03", 17, 30)  # all of Tuesday, Monday is off


async def test_dispatch_defaults_to_the_case_department_then_the_catalogue(
    db_sessionmaker: Sessions,
) -> None:
    sm = db_sessionmaker
    water, power, helper = fresh("水务局"), fresh("供电公司"), fresh("街道办")
    await listed(sm, water, power, helper)
    category = fresh("cat")
    await workflow_catalogue.set_entry(
        sm, category, water, [helper], actor="office-wang", at=MONDAY
    )
    by_case = await registered(sm, category=category, department=power)
    by_catalogue = await registered(sm, category=category, department="不在名单上的单位")
    for case_id in (by_case, by_catalogue):
        await workflow.dispatch(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES)
    assert (await cases.get_case(sm, by_case)).department == power
    assert (await cases.get_case(sm, by_catalogue)).department == water
    rows = (await case_file(sm, by_case, actor=OFFICE, at=MONDAY, rules=RULES)).assignments
    assert [(r.department, r.role) for r in rows] == [(power, "lead"), (helper, "co")]
    nowhere = await registered(sm, category=fresh("cat"))
    with pytest.raises(ValidationError, match="派单目录中没有默认单位"):
        await workflow.dispatch(sm, nowhere, actor=OFFICE, at=MONDAY, rules=RULES)


async def test_dispatch_to_an_unknown_department_saves_nothing(db_sessionmaker: Sessions) -> None:
    sm, known = db_sessionmaker, fresh("城管局")
    await listed(sm, known)
    case_id = await registered(sm)
    before = await cases.get_case(sm, case_id)
    for department, co in (("火星管理局", None), (known, ["火星管理局"])):
        with pytest.raises(ValidationError, match="未知或已停用的承办单位：火星管理局"):
            await workflow.dispatch(
                sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, department=department, co=co
            )
    assert await cases.get_case(sm, case_id) == before
    assert await count(sm, CaseAssignment, case_id) == 0
    await workflow_catalogue.deactivate_department(sm, known)
    with pytest.raises(ValidationError, match="未知或已停用的承办单位"):
        await workflow.dispatch(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, department=known)


async def test_a_return_is_allowed_within_two_working_days_only(
    db_sessionmaker: Sessions,
) -> None:
    sm, lead = db_sessionmaker, fresh("城管局")
    await listed(sm, lead)
    friday = bj("2031-03-07", 16)
    case_id = await registered(sm, friday)
    await workflow.dispatch(sm, case_id, actor=OFFICE, at=friday, rules=RULES, department=lead)
    dept = desk_of(lead)
    late = bj("2031-03-11", 16, 1)  # Tuesday: two working days were Monday and Tuesday 16:00
    await refused(
        workflow.return_case(sm, case_id, actor=dept, at=late, rules=RULES, reason="不归我们管"),
        RefusalKind.CONFLICT,
        "已超过退单时限",
    )
    with pytest.raises(ValidationError, match="退单理由不能为空"):
        await workflow.return_case(sm, case_id, actor=dept, at=friday, rules=RULES, reason=" ")
    assert await kinds(sm, case_id) == ["created", "registered", "dispatched"]
    on_time = bj("2031-03-11", 16)
    view = await workflow.return_case(
        sm, case_id, actor=dept, at=on_time, rules=RULES, reason="属住建局职责"
    )
    assert view.status is CaseStatus.RETURNED


async def test_extensions_are_limited_once_and_in_days(db_sessionmaker: Sessions) -> None:
    sm, lead = db_sessionmaker, fresh("城管局")
    await listed(sm, lead)
    case_id = await registered(sm)
    await workflow.dispatch(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, department=lead)
    dept = desk_of(lead)
    await workflow.accept(sm, case_id, actor=dept, at=MONDAY, rules=RULES)
    ask = handling.request_extension
    with pytest.raises(ValidationError, match="延期最多 10 个工作日"):
        await ask(sm, case_id, actor=dept, at=MONDAY, rules=RULES, days=11, reason="工程量大")
    await ask(sm, case_id, actor=dept, at=MONDAY, rules=RULES, days=3, reason="需协调施工")
    await handling.deny_extension(
        sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, reason="请按期办结"
    )
    await refused(
        ask(sm, case_id, actor=dept, at=MONDAY, rules=RULES, days=2, reason="再试一次"),
        RefusalKind.CONFLICT,
        "只能申请一次延期",
    )
    assert await count(sm, ExtensionRequest, case_id) == 1


async def test_a_department_cannot_reach_another_departments_case(
    db_sessionmaker: Sessions,
) -> None:
    sm, mine, theirs = db_sessionmaker, fresh("城管局"), fresh("公安局")
    await listed(sm, mine, theirs)
    case_id = await registered(sm)
    await workflow.dispatch(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, department=mine)
    stranger = desk_of(theirs)
    with pytest.raises(RecordNotFound):
        await workflow.accept(sm, case_id, actor=stranger, at=MONDAY, rules=RULES)
    with pytest.raises(RecordNotFound):
        await case_file(sm, case_id, actor=stranger, at=MONDAY, rules=RULES)
    assert [i.case.id for i in await department_desk(sm, theirs)] == []
    assert [i.case.id for i in await department_desk(sm, mine)] == [case_id]
    assert await kinds(sm, case_id) == ["created", "registered", "dispatched"]


async def test_archived_cases_refuse_every_move(db_sessionmaker: Sessions) -> None:
    sm, lead = db_sessionmaker, fresh("城管局")
    await listed(sm, lead)
    case_id = await registered(sm, category="other")
    with pytest.raises(ValidationError, match="归档说明"):
        await closing.archive(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES)
    await closing.archive(
        sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, reason="政策咨询，已当场答复"
    )
    moves: list[Callable[[], Awaitable[object]]] = [
        lambda: workflow.dispatch(
            sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, department=lead
        ),
        lambda: handling.add_note(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, text="补充"),
        lambda: closing.reopen(
            sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, citizen_words="还没解决"
        ),
        lambda: closing.archive(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, reason="再次"),
    ]
    for move in moves:
        await refused(move(), RefusalKind.CONFLICT, "归档后只读")
    assert await kinds(sm, case_id) == ["created", "registered", "archived"]


async def test_office_board_and_department_desk_list_what_waits(
    db_sessionmaker: Sessions,
) -> None:
    sm, lead = db_sessionmaker, fresh("城管局")
    await listed(sm, lead)
    waiting, sent = await registered(sm), await registered(sm)
    await workflow.dispatch(sm, sent, actor=OFFICE, at=MONDAY, rules=RULES, department=lead)
    board = await office_board(sm)
    assert waiting in {item.case.id for item in board.to_dispatch}
    working = {item.case.id: item.assignment for item in board.working}
    assert working[sent] is not None and working[sent].department == lead
    desk = await department_desk(sm, lead)
    assert [(i.case.id, i.assignment and i.assignment.role) for i in desk] == [(sent, "lead")]


async def _two_at_once(
    database_url: str, work: Callable[[Sessions, str], Awaitable[object]]
) -> list[object]:
    # Two engines, as two ivr processes would have.
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        makers = [make_sessionmaker(engine) for engine in engines]
        return await asyncio.gather(
            *(
                work(sm, name)
                for sm, name in zip(makers, ("office-li", "office-zhao"), strict=True)
            ),
            return_exceptions=True,
        )
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))


async def test_two_offices_dispatching_at_once_one_wins(
    database_url: str, db_sessionmaker: Sessions
) -> None:
    sm, first, second = db_sessionmaker, fresh("城管局"), fresh("住建局")
    await listed(sm, first, second)
    case_id = await registered(sm)
    targets = {"office-li": first, "office-zhao": second}

    async def send(maker: Sessions, name: str) -> object:
        office = Actor(name, Party.OFFICE)
        return await workflow.dispatch(
            maker, case_id, actor=office, at=MONDAY, rules=RULES, department=targets[name]
        )

    results = await _two_at_once(database_url, send)
    assert sorted(type(r).__name__ for r in results) == ["ActionRefused", "CaseView"]
    winner = next(r for r in results if isinstance(r, cases.CaseView))
    assert await count(sm, CaseAssignment, case_id) == 1
    assert (await cases.get_case(sm, case_id)).department == winner.department
    assert (await kinds(sm, case_id)).count("dispatched") == 1


async def test_two_offices_approving_at_once_one_wins(
    database_url: str, db_sessionmaker: Sessions
) -> None:
    sm, lead = db_sessionmaker, fresh("城管局")
    await listed(sm, lead)
    case_id = await registered(sm)
    await workflow.dispatch(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, department=lead)
    dept = desk_of(lead)
    await workflow.accept(sm, case_id, actor=dept, at=MONDAY, rules=RULES)
    await handling.request_extension(
        sm, case_id, actor=dept, at=MONDAY, rules=RULES, days=5, reason="需等待施工队"
    )

    async def approve(maker: Sessions, name: str) -> object:
        office = Actor(name, Party.OFFICE)
        return await handling.approve_extension(
            maker, case_id, actor=office, at=MONDAY, rules=RULES
        )

    results = await _two_at_once(database_url, approve)
    assert sorted(type(r).__name__ for r in results) == ["ActionRefused", "CaseView"]
    found = await case_file(sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES)
    assert found.assignments[0].reply_due == bj("2031-03-17", 10)  # 5 + 5 working days
    assert (await kinds(sm, case_id)).count("extension_approved") == 1
