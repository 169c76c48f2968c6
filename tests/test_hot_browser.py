"""热点预警 in a real browser (Debian's chromium through Playwright): the office finds the salt
rush at the top of its alerts with the cases behind it, acknowledges it with one click
(workflow.js posts with the CSRF token under the Content-Security-Policy), is told in
Chinese why a one-character sensitive word is refused, adds a good one, and the wallboard
shows the open alert's title.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.async_api import Browser

from ivr.db import users
from ivr.db.models import Role
from ivr.web.app import make_app
from tests.browser import log_in, watch_errors
from tests.test_hot_job import Sessions
from tests.test_hot_web import NOON, POLICY, salt_alert
from tests.test_web_console import PASSWORD, FakeClock
from tests.test_workflow_api import cheap_hashing
from tests.test_workflow_browser import WAIT_MS, Server, says

__all__ = ["cheap_hashing"]  # the fixture shared with test_workflow_api
pytest_plugins = ["tests.db_fixtures"]


async def test_the_office_acknowledges_an_alert_and_keeps_its_word_list(
    aiohttp_server: Server, own_sessionmaker: Sessions, browser: Browser, artifacts: Path
) -> None:
    sm = own_sessionmaker
    app = make_app(lambda: {}, db=sm, policy=POLICY, clock=FakeClock(NOON))
    server = await aiohttp_server(app)
    older, _ = await salt_alert(sm, days_ago=1)
    alert_id, cases = await salt_alert(sm)
    username = f"office-{uuid.uuid4().hex[:8]}"
    await users.create_user(sm, username, PASSWORD, Role.OFFICE.value, display_name="王主任")
    page = await browser.new_page(viewport={"width": 1400, "height": 1100})
    errors = watch_errors(page, [])
    await log_in(page, str(server.make_url("")), username, PASSWORD, "/office")
    await page.get_by_role("link", name="热点预警").click()
    await page.wait_for_url("**/alerts")

    cards = page.locator("article.alert-card")
    assert await cards.first.get_attribute("data-alert") == str(alert_id)
    card = page.locator(f"#alert-{alert_id}")
    assert "食盐" in await card.locator("h2").inner_text()
    assert await card.locator(f'tr[data-case="{cases[1]}"] a.wf-case').count() == 1
    await page.screenshot(path=str(artifacts / "hot-alerts.png"), full_page=True)
    await card.get_by_role("button", name="确认").click()
    await says(page, "已确认预警")
    assert "已确认" in await page.locator(f"#alert-{alert_id} .alert-state").inner_text()
    assert await page.locator(f"#acknowledge-{alert_id}").count() == 0
    assert await page.locator(f"#close-{older}").count() == 1

    await page.get_by_role("link", name="敏感词表").click()
    await page.wait_for_url("**/alerts/words")
    await page.fill("#word", "闹")
    await page.click("#word-add button")
    await page.wait_for_selector("#wf-error:not([hidden])", timeout=WAIT_MS)
    assert "至少 2 个字" in await page.inner_text("#wf-error")
    await page.fill("#word", "集体上访")
    await page.click("#word-add button")
    await says(page, "已添加敏感词")
    assert "集体上访" in await page.inner_text("#word-list")

    await page.goto(str(server.make_url("/wallboard")))
    await page.wait_for_function(
        "() => document.querySelectorAll('#wb-alerts li').length > 0", timeout=WAIT_MS
    )
    assert "食盐" in await page.inner_text("#wb-alerts")
    await page.screenshot(path=str(artifacts / "hot-alerts-wallboard.png"), full_page=True)
    refused = [e for e in errors if "/api/alerts/words" not in e and "400" not in e]
    assert refused == [], errors
