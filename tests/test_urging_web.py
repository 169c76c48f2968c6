"""The urging API and pages through the real app factory, on SQLite and PostgreSQL: a
department sees and acknowledges its own reminders only, the office reads the supervision
and notice lists, other roles get 403 and anonymous callers 401, whistleblowers masked.

The PostgreSQL database is shared by the session: the office's lists hold other tests'
cases too, so these tests look for their own; the clock runs in weeks of 2047 of their own.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any
from unittest.mock import MagicMock

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import users
from ivr.db.models import Role
from ivr.web import urging_api, urging_pages
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.state import ConsolePolicy
from ivr.workflow.rules import WorkflowRules
from ivr.workflow_scheduler import UrgingScheduler
from tests.test_duty_api import Console
from tests.test_web_console import FakeClock, csrf_of, login
from tests.test_workflow_api import CASES, POLICY, add_person, registered, with_workflow
from tests.test_workflow_calendar import bj
from tests.test_workflow_db import fresh, kinds

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[web.Request, web.Application]
REMINDERS = "/api/workflow/reminders"
OFFICE_API = ("/api/workflow/supervision", "/api/workflow/notices")
PAGES = ("/workflow/reminders", "/workflow/supervision", "/workflow/notices")


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: these tests are about urging."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


def with_urging(app: web.Application) -> web.Application:
    """The app with the workflow's and urging's routes, added here while the factory does not."""
    with_workflow(app)
    paths = {route.resource.canonical for route in app.router.routes() if route.resource}
    if REMINDERS not in paths:
        urging_api.add_routes(app.router)
    if "/workflow/reminders" not in paths:
        urging_pages.add_routes(app.router)
    return app


@dataclasses.dataclass
class Hotline:
    """The office, two departments of this test's own, and the clock."""

    sm: Sessions
    clock: FakeClock
    anonymous: Callable[[], Awaitable[Client]]
    login: Callable[..., Awaitable[Console]]
    ours: str
    theirs: str

    async def urge(self) -> int:
        """Run the scheduler now (its own lease, so no other test's holder is in the way)."""
        runner = UrgingScheduler(self.sm, rules=WorkflowRules(), lease_name=fresh("urging"))
        return await runner.run_once(self.clock())

    async def dispatched(self, office: Console, department: str, **fields: Any) -> int:
        """A case registered and dispatched to `department` now; its id."""
        case_id = await registered(self.sm, self.clock, **fields)
        body = {"department": department}
        await office.ok("POST", f"{CASES}/{case_id}/dispatch", json=body)
        return case_id


@pytest.fixture
def hotline(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], db_sessionmaker: Sessions
) -> Hotline:
    """Fresh clients of the real app, on a Monday of 2047 this file has to itself."""
    monday = date(2047, 9, 2) + timedelta(days=14 * next(_weeks))
    clock = FakeClock(bj(monday, 10))

    async def anonymous() -> Client:
        app = make_app(lambda: {"ok": True}, db=db_sessionmaker, policy=POLICY, clock=clock)
        return await aiohttp_client(with_urging(app))

    async def log_in(role: Role, department: str | None = None) -> Console:
        client = await anonymous()
        name = await add_person(db_sessionmaker, role, department)
        assert (await login(client, name)).status == 303
        return Console(client, csrf_of(await (await client.get("/")).text()))

    ours, theirs = fresh("市城管执法局"), fresh("市住建局")
    return Hotline(db_sessionmaker, clock, anonymous, log_in, ours, theirs)


_weeks = iter(range(1000))


async def office_of(hotline: Hotline) -> Console:
    """The office, having listed both departments."""
    office = await hotline.login(Role.OFFICE)
    for name in (hotline.ours, hotline.theirs):
        await office.ok("POST", "/api/workflow/departments", 201, json={"name": name})
    return office


def case_ids(listing: dict[str, Any]) -> list[int]:
    """The case ids of a list's reminders, in order."""
    return [line["case"]["id"] for line in listing["reminders"]]


def test_every_urging_route_says_who_may_use_it() -> None:
    app = with_urging(make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy()))
    access = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None
    }
    office, department = frozenset({Role.OFFICE}), frozenset({Role.DEPARTMENT})
    assert access["GET", REMINDERS] == office | department
    assert access["POST", REMINDERS + "/{reminder_id}/acknowledge"] == department
    for path in OFFICE_API:
        assert access["GET", path] == office
    assert access["GET", "/workflow/reminders"] == department
    assert access["GET", "/workflow/supervision"] == office
    assert access["GET", "/workflow/notices"] == office


async def test_a_department_sees_and_acknowledges_only_its_own(hotline: Hotline) -> None:
    office = await office_of(hotline)
    ours = await hotline.login(Role.DEPARTMENT, hotline.ours)
    theirs = await hotline.login(Role.DEPARTMENT, hotline.theirs)
    mine = await hotline.dispatched(office, hotline.ours)
    other = await hotline.dispatched(office, hotline.theirs)
    hotline.clock.advance(days=1, minutes=1)  # Tuesday 10:01: both accept deadlines missed
    assert await hotline.urge() >= 4

    listed = await ours.ok("GET", REMINDERS)
    assert case_ids(listed) == [mine, mine]
    assert {line["label"] for line in listed["reminders"]} == {"签收已超期", "签收督办"}
    assert case_ids(await theirs.ok("GET", REMINDERS)) == [other, other]
    everyone = await office.ok("GET", REMINDERS, params={"department": hotline.ours})
    assert case_ids(everyone) == [mine, mine]

    first = listed["reminders"][0]["id"]
    url = f"{REMINDERS}/{first}/acknowledge"
    assert "no reminder" in await theirs.refused("POST", url, 404)
    await office.refused("POST", url, 403)
    done = await ours.ok("POST", url)
    assert done["acknowledged_by"] and done["acknowledged_at"]
    hotline.clock.advance(minutes=5)
    again = await ours.ok("POST", url)
    assert again["acknowledged_at"] == done["acknowledged_at"]  # the first reading stands
    assert (await kinds(hotline.sm, mine)).count("reminder_acknowledged") == 1
    after = await ours.ok("GET", REMINDERS)
    assert after["reminders"][-1]["id"] == first  # read ones last

    page = await (await ours.client.get("/workflow/reminders")).text()
    assert f"/workflow/cases/{mine}" in page and f"/workflow/cases/{other}" not in page
    assert f"{REMINDERS}/{first}/acknowledge" not in page  # read: no button any more
    assert "签收督办" in page and "is-unread" in page


async def test_the_office_reads_the_supervision_and_notice_lists(hotline: Hotline) -> None:
    office = await office_of(hotline)
    ours = await hotline.login(Role.DEPARTMENT, hotline.ours)
    late = await hotline.dispatched(office, hotline.ours)
    hotline.clock.advance(days=1, minutes=1)
    await hotline.urge()
    supervised = await office.ok("GET", OFFICE_API[0])
    line = next(line for line in supervised["reminders"] if line["case"]["id"] == late)
    assert (line["kind"], line["outstanding"], line["department"]) == (
        "accept_supervision",
        True,
        hotline.ours,
    )
    assert late not in case_ids(await office.ok("GET", OFFICE_API[1]))

    hotline.clock.advance(days=6)  # Monday 10:01, a week on: 4 working days late
    await hotline.urge()
    notices = await office.ok("GET", OFFICE_API[1])
    assert [
        (n["kind"], n["outstanding"]) for n in notices["reminders"] if n["case"]["id"] == late
    ] == [
        ("accept_notice", True),
    ]
    page = await (await office.client.get("/workflow/supervision")).text()
    assert f"/workflow/cases/{late}" in page and "4 个工作日" in page
    page = await (await office.client.get("/workflow/notices")).text()
    assert f"/workflow/cases/{late}" in page and "仍未办结" in page

    await ours.ok("POST", f"{CASES}/{late}/accept")
    supervised = await office.ok("GET", OFFICE_API[0])
    # accepted at last; the reply, due this morning, is what is still late
    still = [line["kind"] for line in supervised["reminders"] if line["case"]["id"] == late]
    assert still == ["reply_supervision"]
    page = await (await office.client.get("/workflow/notices")).text()
    row = page[page.index(f"/workflow/cases/{late}") :].split("</tr>")[0]
    assert "已签收" in row


async def test_reminders_go_with_the_case_when_it_goes_elsewhere(hotline: Hotline) -> None:
    office = await office_of(hotline)
    ours = await hotline.login(Role.DEPARTMENT, hotline.ours)
    case_id = await hotline.dispatched(office, hotline.ours)
    hotline.clock.advance(days=1, minutes=1)
    await hotline.urge()
    old = [line["id"] for line in (await ours.ok("GET", REMINDERS))["reminders"]]
    assert len(old) == 2
    await ours.ok("POST", f"{CASES}/{case_id}/return", json={"reason": "路灯归住建局管"})
    body = {"department": hotline.theirs}
    await office.ok("POST", f"{CASES}/{case_id}/redispatch", json=body)
    assert (await ours.ok("GET", REMINDERS))["reminders"] == []
    await ours.refused("POST", f"{REMINDERS}/{old[0]}/acknowledge", 404)
    everyone = await office.ok("GET", REMINDERS, params={"department": hotline.ours})
    assert case_ids(everyone) == [case_id, case_id]  # the office keeps the record


@pytest.mark.parametrize("role", [Role.AGENT, Role.LEADER])
async def test_other_roles_are_refused(hotline: Hotline, role: Role) -> None:
    someone = await hotline.login(role)
    for path in (REMINDERS, *OFFICE_API, *PAGES):
        assert (await someone.call("GET", path)).status == 403, path
    await someone.refused("POST", f"{REMINDERS}/1/acknowledge", 403)
    department = await hotline.login(Role.DEPARTMENT, hotline.ours)
    for path in (*OFFICE_API, "/workflow/supervision", "/workflow/notices"):
        assert (await department.call("GET", path)).status == 403, path
    office = await hotline.login(Role.OFFICE)
    assert (await office.call("GET", "/workflow/reminders")).status == 403


async def test_anonymous_callers_are_told_to_log_in(hotline: Hotline) -> None:
    nobody = await hotline.anonymous()
    for path in (REMINDERS, *OFFICE_API):
        assert (await nobody.get(path)).status == 401, path
    assert (await nobody.post(f"{REMINDERS}/1/acknowledge")).status == 401
    for path in PAGES:
        response = await nobody.get(path, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (302, "/login"), path


async def test_a_department_never_sees_a_whistleblower(hotline: Hotline) -> None:
    office = await office_of(hotline)
    ours = await hotline.login(Role.DEPARTMENT, hotline.ours)
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    case_id = await hotline.dispatched(
        office,
        hotline.ours,
        whistleblower=True,
        caller_name="李举报",
        summary=f"举报人李举报（电话 {phone}）反映某工地夜间违规施工",
    )
    hotline.clock.advance(days=1, minutes=1)
    await hotline.urge()
    line = (await ours.ok("GET", REMINDERS))["reminders"][0]
    assert line["case"]["id"] == case_id and line["case"]["identity_masked"] is True
    assert phone not in line["case"]["summary"] and "李举报" not in line["case"]["summary"]
    page = await (await ours.client.get("/workflow/reminders")).text()
    assert phone not in page and "李举报" not in page
    seen = await office.ok("GET", OFFICE_API[0])
    shown = next(x for x in seen["reminders"] if x["case"]["id"] == case_id)
    assert phone in shown["case"]["summary"]  # the office answers for the protection


async def test_a_bad_reminder_id_is_a_404(hotline: Hotline) -> None:
    ours = await hotline.login(Role.DEPARTMENT, hotline.ours)
    for bad in ("abc", str(2**40), "0"):
        await ours.refused("POST", f"{REMINDERS}/{bad}/acknowledge", 404)
