"""并单 in a real browser (Debian's chromium through Playwright): the office opens a caller's
case, sees the other calls about the same streetlight under 可能重复的工单 with their
score, and merges it with one click; workflow.js posts it with the CSRF token under the
Content-Security-Policy, and the page then names the main case.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.async_api import Browser

from ivr.db import cases, users
from ivr.db.models import CaseStatus, Role
from ivr.web.app import make_app
from tests.browser import log_in, watch_errors
from tests.test_merge_api import streetlights
from tests.test_merge_db import street
from tests.test_web_console import PASSWORD, FakeClock
from tests.test_workflow_api import MONDAY, POLICY, Sessions, cheap_hashing, with_workflow
from tests.test_workflow_browser import Server, says

__all__ = ["cheap_hashing"]  # the fixture shared with test_workflow_api

pytest_plugins = ["tests.db_fixtures"]


async def test_the_office_merges_a_duplicate_with_one_click(
    aiohttp_server: Server, db_sessionmaker: Sessions, browser: Browser, artifacts: Path
) -> None:
    sm, clock = db_sessionmaker, FakeClock(MONDAY)
    app = with_workflow(make_app(lambda: {}, db=sm, policy=POLICY, clock=clock))
    server = await aiohttp_server(app)
    ids = await streetlights(sm, clock, street())
    username = f"office-{uuid.uuid4().hex[:8]}"
    await users.create_user(sm, username, PASSWORD, Role.OFFICE.value, display_name="王主任")
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = watch_errors(page, [])
    await log_in(page, str(server.make_url("")), username, PASSWORD, "/office")
    await page.goto(str(server.make_url(f"/workflow/cases/{ids['second']}")))

    rows = page.locator("#duplicate-list tbody tr")
    shown = {await rows.nth(i).get_attribute("data-case") for i in range(await rows.count())}
    assert shown == {str(ids["first"]), str(ids["third"])}
    first = page.locator(f'#duplicate-list tr[data-case="{ids["first"]}"]')
    assert "路灯" in await first.inner_text() and "%" in await first.inner_text()
    await page.screenshot(path=str(artifacts / "merge-suggestions.png"), full_page=True)
    await first.get_by_role("button", name="并入该单").click()
    await says(page, "已并单")
    assert "已并单" in await page.inner_text("#case-facts")
    notice = page.locator("#merged-into")
    main_number = (await cases.get_case(sm, ids["first"])).number
    assert main_number is not None and main_number in await notice.inner_text()
    assert await page.locator("#duplicates").count() == 0
    assert errors == []
    assert (await cases.get_case(sm, ids["second"])).status is CaseStatus.MERGED
