"""A department's day in a real browser (Debian's chromium through Playwright).

What only a browser proves: workflow.js runs under the Content-Security-Policy and drives
the API with the session's CSRF token; a department user logs in, sees its own case and
not another department's, accepts it (签收) and writes the reply (回复) on the case page.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from ivr.db import cases, users, workflow, workflow_catalogue
from ivr.db.models import CaseStatus, Role
from ivr.db.workflow_state import Actor
from ivr.web.app import make_app
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import Party
from tests.browser import log_in, watch_errors
from tests.test_web_console import PASSWORD, FakeClock
from tests.test_workflow_api import (
    MONDAY,
    POLICY,
    Sessions,
    cheap_hashing,
    registered,
    with_workflow,
)
from tests.test_workflow_db import fresh

__all__ = ["cheap_hashing"]  # the fixture shared with test_workflow_api

pytest_plugins = ["tests.db_fixtures"]

Server = Callable[[web.Application], Awaitable[TestServer]]
WAIT_MS = 10_000
OFFICE = Actor("office-wang", Party.OFFICE)


async def says(page: Page, text: str) -> None:
    """Wait until the page's status line shows `text`."""
    await page.wait_for_function(
        "t => (document.getElementById('wf-status').textContent || '').includes(t)",
        arg=text,
        timeout=WAIT_MS,
    )


async def test_a_department_accepts_and_replies_to_its_case(
    aiohttp_server: Server, db_sessionmaker: Sessions, browser: Browser, artifacts: Path
) -> None:
    sm, ours, theirs = db_sessionmaker, fresh("市城管执法局"), fresh("市住建局")
    clock = FakeClock(MONDAY)
    for name in (ours, theirs):
        await workflow_catalogue.add_department(sm, name, actor="office-wang", at=MONDAY)
    mine = await registered(sm, clock, summary="人民路12号路灯坏了三天", address="人民路12号")
    other = await registered(sm, clock, summary="幸福小区电梯停运")
    for case_id, department in ((mine, ours), (other, theirs)):
        await workflow.dispatch(
            sm, case_id, actor=OFFICE, at=MONDAY, rules=WorkflowRules(), department=department
        )
    username = f"dept-{uuid.uuid4().hex[:8]}"
    await users.create_user(
        sm, username, PASSWORD, Role.DEPARTMENT.value, display_name="李科长", department=ours
    )
    app = with_workflow(make_app(lambda: {}, db=sm, policy=POLICY, clock=clock))
    server = await aiohttp_server(app)
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = watch_errors(page, [])

    await log_in(page, str(server.make_url("")), username, PASSWORD, "/department")
    await page.goto(str(server.make_url("/workflow/cases")))
    rows = page.locator("#desk-list tbody tr")
    assert await rows.count() == 1  # its own case, not the other department's
    assert await rows.first.get_attribute("data-case") == str(mine)
    assert "幸福小区" not in await page.inner_text("main")

    await rows.first.locator("a.wf-case").click()
    await page.wait_for_url(f"**/workflow/cases/{mine}")
    assert "人民路12号路灯坏了三天" in await page.inner_text("#case-facts")
    await page.click("#do-accept")
    await says(page, "签收：已完成")
    assert await page.locator("#move-accept").count() == 0

    reply = page.locator("#move-reply")
    await reply.locator('textarea[name="result"]').fill("已更换灯泡，路灯恢复照明")
    await reply.locator('input[name="handler"]').fill("张师傅")
    assert await reply.locator('input[name="handled_on"]').input_value() == "2031-03-03"
    await page.click("#do-reply")
    await says(page, "回复：已完成")
    assert "已回复待回访" in await page.inner_text("#case-facts")
    assert "已更换灯泡，路灯恢复照明" in await page.inner_text("#reply-list")
    await page.screenshot(path=str(artifacts / "department-case.png"), full_page=True)

    assert errors == []
    assert (await cases.get_case(sm, mine)).status is CaseStatus.REPLIED
    assert (await cases.get_case(sm, other)).status is CaseStatus.DISPATCHED


async def test_the_office_lists_a_department_and_dispatches_from_the_board(
    aiohttp_server: Server, db_sessionmaker: Sessions, browser: Browser, artifacts: Path
) -> None:
    sm, clock, ours = db_sessionmaker, FakeClock(MONDAY), fresh("市城管执法局")
    # a category of its own: the shared database's catalogue has nothing to suggest for it
    case_id = await registered(
        sm, clock, summary="人民路12号路灯坏了三天", department=ours, category=fresh("cat")
    )
    username = f"office-{uuid.uuid4().hex[:8]}"
    await users.create_user(sm, username, PASSWORD, Role.OFFICE.value, display_name="王主任")
    app = with_workflow(make_app(lambda: {}, db=sm, policy=POLICY, clock=clock))
    server = await aiohttp_server(app)
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = watch_errors(page, [])
    await log_in(page, str(server.make_url("")), username, PASSWORD, "/office")
    await page.goto(str(server.make_url("/workflow/dispatch")))

    # the case names a department the office has not listed yet: no suggestion
    row = page.locator(f'#dispatch-list tr[data-case="{case_id}"]')
    assert await row.locator('select[name="department"]').input_value() == ""
    assert await row.locator(f'option[value="{ours}"]').count() == 0
    await page.fill('#department-form input[name="name"]', ours)
    await page.click("#department-add")
    await says(page, "已添加承办单位")
    selected = row.locator('select[name="department"]')
    assert await selected.input_value() == ours  # the case's own department, now listed
    await row.locator("button[type=submit]").click()
    await says(page, "已交办")
    working = page.locator(f'#working-list tr[data-case="{case_id}"]')
    assert ours in await working.inner_text()
    await page.screenshot(path=str(artifacts / "office-dispatch.png"), full_page=True)
    assert errors == []
    assert (await cases.get_case(sm, case_id)).status is CaseStatus.DISPATCHED
