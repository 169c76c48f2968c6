"""The mailbox's query page and a letter's way through the console, on SQLite and PostgreSQL.

A letter waits in the agents' work queue like any draft; an agent claims and registers it
over the console's API; the office dispatches it, the department accepts and replies
through the workflow's functions; the citizen's query code shows each step and at last the
reply, and never anything internal. A whistleblower's identity is masked for the
department. Each test has a database of its own: the work queue is global.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from html import unescape

import pytest
from sqlalchemy import select

from ivr.db import merging, users, workflow, workflow_catalogue
from ivr.db import workflow_handling as handling
from ivr.db.channel_models import PublicRequest
from ivr.db.models import Case, Role
from ivr.db.workflow_state import Actor
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import Party
from tests.test_duty_api import Console
from tests.test_mailbox_web import (
    Citizen,
    CitizenFactory,
    Sessions,
    a_letter,
    cheap_hashing,
    citizens,
    clock,
    error_of,
    settings,
    the_case,
)
from tests.test_web_console import PASSWORD, csrf_of, login
from tests.test_workflow_db import registered

__all__ = ["cheap_hashing", "citizens", "clock", "settings"]  # fixtures of test_mailbox_web

pytest_plugins = ["tests.db_fixtures"]

RULES = WorkflowRules()
OFFICE = Actor("office-wang", Party.OFFICE)


@pytest.fixture
def mailbox_db(own_sessionmaker: Sessions) -> Sessions:
    """This test's own database: the work queue lists every draft in it."""
    return own_sessionmaker


async def console(
    citizens: CitizenFactory, db: Sessions, role: Role, department: str | None = None
) -> Console:
    """A console user of `role` logged in on the mailbox's server (from another address)."""
    name = f"{role.value}-{uuid.uuid4().hex[:8]}"
    await users.create_user(db, name, PASSWORD, role.value, department=department)
    client = (await citizens("127.0.0.3")).client
    assert (await login(client, name)).status == 303
    return Console(client, csrf_of(await (await client.get("/")).text()))


async def progress(citizen: Citizen, code: str) -> dict[str, str]:
    """The facts the progress page shows (label → value)."""
    response = await citizen.query(code)
    page = await response.text()
    assert response.status == 200, page
    pairs = re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", page)
    return {unescape(k): unescape(v) for k, v in pairs}


async def department(db: Sessions, at: datetime) -> str:
    """A department of this test's own, on the office's list."""
    name = f"市城管执法局-{uuid.uuid4().hex[:6]}"
    await workflow_catalogue.add_department(db, name, actor="office-wang", at=at)
    return name


async def registered_by_an_agent(citizens: CitizenFactory, db: Sessions, case_id: int) -> Console:
    """An agent finds the draft in the work queue, claims and registers it; the agent."""
    agent = await console(citizens, db, Role.AGENT)
    queue = await agent.ok("GET", "/api/work-queue")
    item = next(item for item in queue["items"] if item["id"] == case_id)
    assert item["channel"] == "mailbox"
    claimed = await agent.ok("POST", f"/api/cases/{case_id}/claim")
    body = {"version": claimed["version"], "fields": {}}
    done = await agent.ok("POST", f"/api/cases/{case_id}/register", json=body)
    assert done["case"]["status"] == "registered"
    return agent


async def test_the_code_shows_the_status_and_at_last_the_reply(
    citizens: CitizenFactory, mailbox_db: Sessions
) -> None:
    db, citizen = mailbox_db, await citizens()
    code = await citizen.sent_code(a_letter())
    case_id = (await the_case(db, code)).id
    # typed back leniently: lower case, spaces instead of dashes, full-width letters
    lenient = " ".join(code.lower().split("-")).replace("a", "ａ")
    facts = await progress(citizen, lenient)
    assert facts["当前状态"] == "待受理"
    assert facts["工单编号"] == "尚未受理，暂无编号" and facts["受理时间"] == "—"
    assert re.fullmatch(r"2\d{3}-\d\d-\d\d \d\d:\d\d", facts["来信时间"])

    agent = await registered_by_an_agent(citizens, db, case_id)
    facts = await progress(citizen, code)
    assert facts["当前状态"] == "待交办"
    assert re.fullmatch(r"12345-\d{8}-\d{6}", facts["工单编号"]), facts
    assert facts["受理时间"] != "—"

    now = citizen.clock()
    office_unit = await department(db, now)
    await workflow.dispatch(
        db,
        case_id,
        actor=OFFICE,
        at=now,
        rules=RULES,
        department=office_unit,
        instructions="交办意见：请王科长盯紧",
    )
    desk = Actor("dept-li", Party.DEPARTMENT, office_unit)
    await workflow.accept(db, case_id, actor=desk, at=now, rules=RULES)
    await handling.add_note(
        db, case_id, actor=desk, at=now, rules=RULES, text="内部进展：已派李师傅"
    )
    assert (await progress(citizen, code))["当前状态"] == "办理中"
    await handling.reply(
        db,
        case_id,
        actor=desk,
        at=now,
        rules=RULES,
        result="人民路12号路灯已于当日修复，感谢您的监督。",
        handler="李经办",
        handled_on=now.astimezone(RULES.zone).date(),
    )
    response = await citizen.query(code)
    page = await response.text()
    facts = await progress(citizen, code)
    assert facts["当前状态"] == "已回复待回访"
    assert facts["答复内容"] == "人民路12号路灯已于当日修复，感谢您的监督。"
    assert facts["承办单位"] == office_unit
    assert facts["办结日期"] == f"{now.astimezone(RULES.zone):%Y-%m-%d}"
    for internal in ("李经办", "dept-li", "office-wang", "王科长", "李师傅", agent.token):
        assert internal not in page, internal
    assert "张三" not in page and "路灯不亮" not in page  # not even the letter itself


async def test_wrong_codes_are_refused_and_counted(
    citizens: CitizenFactory, mailbox_db: Sessions
) -> None:
    """Bad input: a code of the wrong shape, and a well-formed code nobody was given."""
    citizen = await citizens()
    malformed = await citizen.query("abc-123")
    assert malformed.status == 422
    assert "12 位字母和数字" in await error_of(malformed)
    assert 'value="abc-123"' in await malformed.text()  # shown again to correct
    unknown = await citizen.query("ABCD-EFGH-JKMN")
    assert unknown.status == 404
    assert "没有找到" in await error_of(unknown)
    long = await citizen.query("Z" * 5000)
    assert long.status == 422
    async with mailbox_db() as session:
        actions = list(await session.scalars(select(PublicRequest.action)))
    assert actions == ["query", "query", "query"]


async def test_look_ups_are_limited_per_address_found_or_not(
    citizens: CitizenFactory, mailbox_db: Sessions
) -> None:
    """Bad input: a 31st look-up within the hour (the limit is 30), found or not."""
    citizen, neighbour = await citizens(), await citizens("127.0.0.2")
    code = await citizen.sent_code(a_letter())
    for _ in range(15):
        assert (await citizen.query(code)).status == 200
        assert (await citizen.query("ABCD-EFGH-JKMN")).status == 404
    refused = await citizen.query(code)
    assert refused.status == 429
    assert "查询过于频繁" in await error_of(refused)
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert code in await refused.text()  # the form keeps the code
    assert (await neighbour.query(code)).status == 200
    citizen.clock.advance(hours=1)
    assert (await citizen.query(code)).status == 200


async def test_a_whistleblower_is_masked_for_the_department(
    citizens: CitizenFactory, mailbox_db: Sessions
) -> None:
    db, citizen = mailbox_db, await citizens()
    letter = a_letter(
        name="赵举报",
        whistleblower="1",
        subject="举报餐馆偷排污水",
        content="我叫赵举报，幸福路8号的餐馆每天夜里往雨水井里倒污水，气味很大。",
    )
    code = await citizen.sent_code(letter)
    case = await the_case(db, code)
    assert case.whistleblower is True
    agent = await console(citizens, db, Role.AGENT)
    listed = await agent.ok("GET", "/api/work-queue")
    item = next(item for item in listed["items"] if item["id"] == case.id)
    assert item["caller_number"] == "***" and item["identity_masked"] is True
    await registered_by_an_agent(citizens, db, case.id)
    now = citizen.clock()
    office_unit = await department(db, now)
    await workflow.dispatch(db, case.id, actor=OFFICE, at=now, rules=RULES, department=office_unit)

    clerk = await console(citizens, db, Role.DEPARTMENT, office_unit)
    response = await clerk.call("GET", f"/api/workflow/cases/{case.id}")
    text = await response.text()
    seen = (await response.json())["case"]
    assert seen["identity_masked"] is True
    assert seen["caller_name"] == seen["caller_number"] == seen["contact_phone"] == "***"
    assert "赵举报" not in text and letter["phone"] not in text
    office = await console(citizens, db, Role.OFFICE)
    full = await office.ok("GET", f"/api/workflow/cases/{case.id}")
    assert full["case"]["caller_name"] == "赵举报"
    page = await (await citizen.query(code)).text()
    for word in ("保密", "***", "举报", "赵"):
        assert word not in page, word


async def test_a_merged_letter_shows_the_main_cases_progress_and_reply(
    citizens: CitizenFactory, mailbox_db: Sessions
) -> None:
    """并单: the letter is answered by the case it was merged into, which has the reply."""
    db, citizen = mailbox_db, await citizens()
    code = await citizen.sent_code(a_letter())
    letter_id = (await the_case(db, code)).id
    await registered_by_an_agent(citizens, db, letter_id)
    number = (await progress(citizen, code))["工单编号"]
    now = citizen.clock()
    unit = await department(db, now)
    main_id = await registered(db, now, summary="人民路路灯坏了", caller_name="李四")
    await workflow.dispatch(db, main_id, actor=OFFICE, at=now, rules=RULES, department=unit)
    desk = Actor("dept-li", Party.DEPARTMENT, unit)
    await workflow.accept(db, main_id, actor=desk, at=now, rules=RULES)
    merged = await merging.merge(db, letter_id, actor=OFFICE, at=now, rules=RULES, into=main_id)
    assert merged.status.value == "merged"
    facts = await progress(citizen, code)
    assert facts["当前状态"] == "办理中"  # the main case's work is this letter's
    assert facts["工单编号"] == number  # still the letter's own number

    answer = "人民路12号路灯已修复，感谢监督。"
    await handling.reply(
        db,
        main_id,
        actor=desk,
        at=now,
        rules=RULES,
        result=answer,
        handler="李经办",
        handled_on=now.astimezone(RULES.zone).date(),
    )
    response = await citizen.query(code)
    page = await response.text()
    facts = await progress(citizen, code)
    assert facts["当前状态"] == "已回复待回访"
    assert (facts["答复内容"], facts["承办单位"]) == (answer, unit)
    async with db() as session:
        main_case = await session.get(Case, main_id)
    assert main_case is not None and main_case.number is not None
    for internal in (main_case.number, "李四", "李经办", "并单"):
        assert internal not in page, internal
