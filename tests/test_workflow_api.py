"""The workflow's API and pages through the real app factory, on SQLite and PostgreSQL:
roles, department isolation (404, never 403), whistleblower masking, bad input answered
with a clear 4xx and nothing half-saved, the catalogue editor.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import registration, users
from ivr.db.models import CaseEventKind, Role
from ivr.db.workflow_models import CaseReply, ExtensionRequest
from ivr.web import workflow_api, workflow_pages
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.state import ConsolePolicy
from ivr.web.workflow_api import rules_key
from ivr.web.workflow_json import EVENT_LABELS, INTAKE_LABELS
from ivr.workflow.rules import WorkflowRules
from tests.test_duty_api import Console
from tests.test_web_console import PASSWORD, FakeClock, csrf_of, login
from tests.test_workflow_calendar import bj
from tests.test_workflow_db import count, fresh, kinds

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[web.Request, web.Application]
MONDAY = bj("2031-03-03", 10)
CASES = "/api/workflow/cases"
# sessions outlive the weeks a case's clock moves through
POLICY = ConsolePolicy(idle=timedelta(days=60))


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: these tests are about the workflow."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def clock() -> FakeClock:
    """The server's clock: Monday 3 March 2031, 10:00 Beijing time."""
    return FakeClock(MONDAY)


def with_workflow(app: web.Application, rules: WorkflowRules | None = None) -> web.Application:
    """The app with the workflow's routes, added here as long as the factory does not."""
    paths = {route.resource.canonical for route in app.router.routes() if route.resource}
    if CASES not in paths:
        workflow_api.add_routes(app.router)
    if "/workflow/cases" not in paths:
        workflow_pages.add_routes(app.router)
    if rules is not None:
        app[rules_key] = rules
    return app


@dataclasses.dataclass
class Desk:
    """What a test needs of the office and two departments."""

    sm: Sessions
    clock: FakeClock
    login: Callable[..., Awaitable[Console]]
    anonymous: Callable[..., Awaitable[Client]]
    ours: str  # a department's name
    theirs: str  # another department's name


async def add_person(sm: Sessions, role: Role, department: str | None = None) -> str:
    """A fresh user; its username."""
    name = f"{role.value}-{uuid.uuid4().hex[:10]}"
    await users.create_user(sm, name, PASSWORD, role.value, department=department)
    return name


@pytest.fixture
def desk(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    db_sessionmaker: Sessions,
    clock: FakeClock,
) -> Desk:
    """Logs people into fresh clients of the real app; two departments of this test's own."""

    async def anonymous(rules: WorkflowRules | None = None) -> Client:
        app = make_app(lambda: {"ok": True}, db=db_sessionmaker, policy=POLICY, clock=clock)
        return await aiohttp_client(with_workflow(app, rules))

    async def log_in(
        role: Role, department: str | None = None, rules: WorkflowRules | None = None
    ) -> Console:
        client = await anonymous(rules)
        name = await add_person(db_sessionmaker, role, department)
        assert (await login(client, name)).status == 303
        return Console(client, csrf_of(await (await client.get("/")).text()))

    ours, theirs = fresh("市城管执法局"), fresh("市住建局")
    return Desk(db_sessionmaker, clock, log_in, anonymous, ours, theirs)


async def office_with_departments(desk: Desk) -> Console:
    """The office, having listed both departments through the API."""
    office = await desk.login(Role.OFFICE)
    for name in (desk.ours, desk.theirs):
        await office.ok("POST", "/api/workflow/departments", 201, json={"name": name})
    return office


async def registered(sm: Sessions, clock: FakeClock, **fields: Any) -> int:
    """A walk-in case registered now; its id."""
    edits: dict[str, Any] = {
        "category": "urban",
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
        at=clock(),
    )
    return case.id


async def dispatched(desk: Desk, office: Console, **fields: Any) -> int:
    """A case the office has dispatched to `desk.ours`; its id."""
    case_id = await registered(desk.sm, desk.clock, **fields)
    await office.ok("POST", f"{CASES}/{case_id}/dispatch", json={"department": desk.ours})
    return case_id


# --- who may ----------------------------------------------------------------------------


def test_every_workflow_route_says_who_may_use_it() -> None:
    app = with_workflow(make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy()))
    access = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None and "workflow" in route.resource.canonical
    }
    assert None not in access.values()
    office, department = frozenset({Role.OFFICE}), frozenset({Role.DEPARTMENT})
    both = office | department
    assert access["POST", f"{CASES}/{{case_id}}/dispatch"] == office | {Role.AGENT}
    assert access["POST", f"{CASES}/{{case_id}}/reply"] == department
    assert access["POST", f"{CASES}/{{case_id}}/notes"] == both
    assert access["GET", f"{CASES}/{{case_id}}"] == both
    assert access["GET", "/workflow/cases"] == department
    assert access["GET", "/workflow/dispatch"] == office
    assert access["PUT", "/api/workflow/catalogue/{category}"] == office


async def test_roles_are_enforced_with_clear_messages(desk: Desk) -> None:
    office = await office_with_departments(desk)
    ours = await desk.login(Role.DEPARTMENT, desk.ours)
    case_id = await registered(desk.sm, desk.clock)
    url = f"{CASES}/{case_id}"
    body = {"department": desk.ours}
    assert "热线办" in await ours.refused("POST", f"{url}/dispatch", 403, json=body)
    agent = await desk.login(Role.AGENT)
    refusal = await agent.refused("POST", f"{url}/dispatch", 403, json=body)
    assert "agents_may_dispatch" in refusal
    leader = await desk.login(Role.LEADER)
    await leader.refused("GET", url, 403)
    nobody = await desk.anonymous()
    assert (await nobody.get(url)).status == 401
    assert (await nobody.post(f"{url}/dispatch", json=body)).status == 401
    await office.refused("POST", f"{url}/accept", 403, json={})
    assert await kinds(desk.sm, case_id) == ["created", "registered"]
    allowed = await desk.login(Role.AGENT, rules=WorkflowRules(agents_may_dispatch=True))
    done = await allowed.ok("POST", f"{url}/dispatch", json=body)
    assert done["case"]["status"] == "dispatched"
    assert done["case"]["department"] == desk.ours


async def test_a_department_sees_and_acts_on_its_own_cases_only(desk: Desk) -> None:
    office = await office_with_departments(desk)
    ours = await desk.login(Role.DEPARTMENT, desk.ours)
    theirs = await desk.login(Role.DEPARTMENT, desk.theirs)
    case_id = await dispatched(desk, office)
    listed = await ours.ok("GET", CASES)
    assert [line["case"]["id"] for line in listed["cases"]] == [case_id]
    assert (await theirs.ok("GET", CASES))["cases"] == []
    missing, body = 2**31 - 1, {"text": "x", "reason": "x"}
    for method, path in (("GET", ""), ("POST", "/accept"), ("POST", "/notes"), ("POST", "/return")):
        stranger = await theirs.refused(method, f"{CASES}/{case_id}{path}", 404, json=body)
        nothing = await theirs.refused(method, f"{CASES}/{missing}{path}", 404, json=body)
        assert stranger.replace(str(case_id), "N") == nothing.replace(str(missing), "N")
    page = await theirs.client.get(f"/workflow/cases/{case_id}")
    assert page.status == 404
    desk_page = await (await ours.client.get("/workflow/cases")).text()
    assert f'data-case="{case_id}"' in desk_page
    assert await kinds(desk.sm, case_id) == ["created", "registered", "dispatched"]


async def test_a_department_never_sees_a_whistleblower(desk: Desk) -> None:
    office = await office_with_departments(desk)
    ours = await desk.login(Role.DEPARTMENT, desk.ours)
    case_id = await dispatched(
        desk,
        office,
        whistleblower=True,
        caller_name="赵举报",
        contact_phone="13912345678",
        summary="赵举报反映某餐馆排污，电话13912345678",
        transcript="我叫赵举报，电话13912345678，举报某餐馆偷排污水",
    )
    seen = (await ours.ok("GET", f"{CASES}/{case_id}"))["case"]
    assert seen["identity_masked"] is True
    assert seen["caller_name"] == seen["contact_phone"] == seen["caller_number"] == "***"
    assert "赵举报" not in seen["summary"] and "13912345678" not in seen["summary"]
    assert "赵举报" not in seen["transcript"]
    page = await (await ours.client.get(f"/workflow/cases/{case_id}")).text()
    assert "赵举报" not in page and "13912345678" not in page
    assert 'id="identity-masked"' in page
    desk_page = await (await ours.client.get("/workflow/cases")).text()
    assert "赵举报" not in desk_page and "13912345678" not in desk_page
    full = (await office.ok("GET", f"{CASES}/{case_id}"))["case"]
    assert full["caller_name"] == "赵举报" and full["identity_masked"] is False


async def test_bad_input_is_refused_and_nothing_is_half_saved(desk: Desk) -> None:
    office = await office_with_departments(desk)
    ours = await desk.login(Role.DEPARTMENT, desk.ours)
    unknown = await registered(desk.sm, desk.clock)
    message = await office.refused(
        "POST", f"{CASES}/{unknown}/dispatch", 400, json={"department": "火星管理局"}
    )
    assert "未知或已停用的承办单位：火星管理局" in message
    assert await kinds(desk.sm, unknown) == ["created", "registered"]
    case_id = await dispatched(desk, office)
    url = f"{CASES}/{case_id}"
    await ours.ok("POST", f"{url}/accept")  # no body at all
    for partial, says in (
        ({"handler": "张三", "handled_on": "2031-03-03"}, "办理结果不能为空"),
        ({"result": "已修复", "handled_on": "2031-03-03"}, "经办人不能为空"),
        ({"result": "已修复", "handler": "张三"}, "办结日期不能为空"),
        ({"result": "已修复", "handler": "张三", "handled_on": "2031-03-09"}, "不能晚于今天"),
    ):
        assert says in await ours.refused("POST", f"{url}/reply", 400, json=partial)
    assert await count(desk.sm, CaseReply, case_id) == 0
    too_long = {"days": 11, "reason": "工程量大"}
    assert "最多 10 个工作日" in await ours.refused("POST", f"{url}/extension", 400, json=too_long)
    await ours.ok("POST", f"{url}/extension", json={"days": 10, "reason": "需协调施工"})
    second = {"days": 1, "reason": "再申请"}
    assert "待热线办审批" in await ours.refused("POST", f"{url}/extension", 409, json=second)
    assert await count(desk.sm, ExtensionRequest, case_id) == 1
    assert "not valid JSON" in await ours.refused("POST", f"{url}/notes", 400, data="{oops")
    assert "JSON object" in await ours.refused("POST", f"{url}/notes", 400, json=[1])
    assert (await ours.call("POST", f"{CASES}/abc/notes", json={})).status == 404


async def test_a_late_return_is_refused_with_the_deadline(desk: Desk) -> None:
    office = await office_with_departments(desk)
    ours = await desk.login(Role.DEPARTMENT, desk.ours)
    case_id = await dispatched(desk, office)
    desk.clock.now = bj("2031-03-05", 10, 1)  # two working days and a minute later
    refusal = await ours.refused(
        "POST", f"{CASES}/{case_id}/return", 409, json={"reason": "不归我们管"}
    )
    assert "已超过退单时限" in refusal and "2031-03-05 10:00" in refusal
    assert await kinds(desk.sm, case_id) == ["created", "registered", "dispatched"]


async def test_the_office_edits_the_catalogue(desk: Desk) -> None:
    office = await office_with_departments(desk)
    category = fresh("cat")
    entry = {"lead": desk.ours, "co": [desk.theirs]}
    saved = await office.ok("PUT", f"/api/workflow/catalogue/{category}", json=entry)
    assert saved["entry"] == {"category": category, "lead": desk.ours, "co": [desk.theirs]}
    bad = {"lead": "火星管理局"}
    assert "未知或已停用的承办单位" in await office.refused(
        "PUT", f"/api/workflow/catalogue/{category}", 400, json=bad
    )
    listed = (await office.ok("GET", "/api/workflow/catalogue"))["catalogue"]
    assert {"category": category, "lead": desk.ours, "co": [desk.theirs]} in listed
    case_id = await registered(desk.sm, desk.clock, category=category)
    done = await office.ok("POST", f"{CASES}/{case_id}/dispatch", json={})
    assert [(a["department"], a["role"]) for a in done["assignments"]] == [
        (desk.ours, "lead"),
        (desk.theirs, "co"),
    ]
    seeded = await office.ok("POST", "/api/workflow/catalogue/seed", json={})
    names = {
        d["name"] for d in (await office.ok("GET", "/api/workflow/departments"))["departments"]
    }
    assert {"市城管执法局", "市燃气公司", "市热力公司"} <= names
    assert "12345热线直接答复" not in names
    assert set(seeded["departments"]) <= names
    await office.ok("DELETE", f"/api/workflow/catalogue/{category}")
    await office.refused("DELETE", f"/api/workflow/catalogue/{category}", 404)
    ours = await desk.login(Role.DEPARTMENT, desk.ours)
    await ours.refused("GET", "/api/workflow/catalogue", 403)


async def test_the_office_dispatch_page_lists_what_waits(desk: Desk) -> None:
    office = await office_with_departments(desk)
    waiting = await registered(desk.sm, desk.clock, department=desk.ours)
    page = await office.client.get("/workflow/dispatch")
    text = await page.text()
    assert page.status == 200 and 'src="/static/workflow.js"' in text
    row = text[text.index(f'<tr data-case="{waiting}"') :]
    assert f'<option value="{desk.ours}" selected>' in row.split("</tr>")[0]
    assert 'id="catalogue-list"' in text and 'id="department-form"' in text
    case_page = await (await office.client.get(f"/workflow/cases/{waiting}")).text()
    assert 'id="move-dispatch"' in case_page and 'id="move-archive"' in case_page


async def test_the_desk_marks_missed_deadlines(desk: Desk) -> None:
    office = await office_with_departments(desk)
    ours = await desk.login(Role.DEPARTMENT, desk.ours)
    late, early = await dispatched(desk, office), await dispatched(desk, office)
    await ours.ok("POST", f"{CASES}/{early}/accept")
    desk.clock.now = bj("2031-03-04", 10, 1)  # a day and a minute after the dispatch
    lines = {
        line["case"]["id"]: line["assignment"] for line in (await ours.ok("GET", CASES))["cases"]
    }
    assert lines[late]["accept_overdue"] and not lines[late]["reply_overdue"]
    assert not lines[early]["accept_overdue"]
    text = await (await ours.client.get("/workflow/cases")).text()
    row = text[text.index(f'data-case="{late}"') - 40 :].split("</tr>")[0]
    assert "is-overdue" in row and "超期" in row
    desk.clock.now = bj("2031-03-10", 10, 1)  # and now past the reply deadline too
    found = await ours.ok("GET", f"{CASES}/{early}")
    assert found["assignments"][0]["reply_overdue"] is True


def test_every_audit_entry_has_a_label_for_the_office() -> None:
    assert set(CaseEventKind) == set(EVENT_LABELS) | set(INTAKE_LABELS)
