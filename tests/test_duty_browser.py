"""The duty schedule page in a real browser (Debian's chromium through Playwright).

What only a browser proves: duty.js runs under the Content-Security-Policy and drives the
API with the session's CSRF token; the office adds a leader (a bad dial string is refused
on the page), a holiday, generates next month's rotation, edits and publishes it, sees the
leaders on the right days of the month view, and downloads the CSV.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from ivr.db import duty, duty_bulk
from ivr.db.models import Role
from ivr.duty.holidays import HolidayCalendar
from ivr.duty.rotation import RotationRequest, propose_rotation
from ivr.web.app import make_app
from ivr.web.state import ConsolePolicy
from tests.browser import log_in, watch_errors
from tests.test_duty_api import cheap_hashing, with_duty
from tests.test_duty_db import BEIJING, NOW, OFFICE, Sessions, duty_postgres_url, schedule_url, sm
from tests.test_web_console import PASSWORD, FakeClock, add_user

__all__ = ["cheap_hashing", "duty_postgres_url", "schedule_url", "sm"]  # shared fixtures
Server = Callable[[web.Application], Awaitable[TestServer]]
WAIT_MS = 10_000


async def open_duty_page(
    browser: Browser, server: TestServer, username: str, errors: list[str]
) -> Page:
    """Log in through the form and open /duty; console errors and 4xx/5xx go to `errors`."""
    page = await browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    watch_errors(page, errors)
    await log_in(page, str(server.make_url("")), username, PASSWORD, "/office")
    await page.goto(str(server.make_url("/duty")))
    return page


async def status_says(page: Page, text: str) -> None:
    """Wait until the page's status line shows `text`."""
    await page.wait_for_function(
        "t => (document.getElementById('duty-status').textContent || '').includes(t)",
        arg=text,
        timeout=WAIT_MS,
    )


async def test_office_builds_and_publishes_next_months_rotation(
    aiohttp_server: Server, sm: Sessions, browser: Browser, artifacts: Path
) -> None:
    mayor = await duty.create_leader(
        sm, name="陈市长", title="市长", endpoints=["PJSIP/8000"], actor=OFFICE, at=NOW
    )
    app = with_duty(make_app(lambda: {}, db=sm, policy=ConsolePolicy(), clock=FakeClock(NOW)))
    server = await aiohttp_server(app)
    errors: list[str] = []
    page = await open_duty_page(browser, server, await add_user(sm, Role.OFFICE), errors)
    assert await page.inner_text("#duty-month") == "2031年3月"  # the server's month

    # a dial string Asterisk would split is refused on the page, and nothing is saved
    await page.fill("#leader-name", "王伟")
    await page.fill("#leader-title", "副市长")
    await page.fill("#leader-endpoints", "PJSIP/8001,PJSIP/8002")
    await page.click("#leader-save")
    error = page.locator("#duty-error")
    await error.wait_for(state="visible", timeout=WAIT_MS)
    assert "is not a dial string Asterisk can use" in await error.inner_text()
    assert [x.name for x in await duty.list_leaders(sm)] == ["陈市长"]
    errors.clear()  # that 400 was the point

    await page.fill("#leader-endpoints", "PJSIP/8001 PJSIP/13800000000@trunk")
    await page.click("#leader-save")
    await status_says(page, "已添加领导 王伟")
    assert await page.inner_text('#leaders-table tr[data-name="王伟"]') != ""

    await page.fill("#holiday-day", "2031-04-07")
    await page.fill("#holiday-name", "清明节")
    await page.click("#holiday-save")
    await status_says(page, "已登记 2031-04-07")

    assert await page.input_value("#rotation-month") == "2031-04"  # next month by default
    await page.fill("#rotation-days", "2")
    await page.click("#rotation-generate")
    rows = page.locator("#proposal-rows tr.proposal")
    await rows.nth(1).wait_for(timeout=WAIT_MS)
    assert await rows.count() == 2
    # the office edits the proposal: the second duty day in the afternoon
    await rows.nth(1).locator('[name="start"]').fill("14:00")
    await rows.nth(1).locator('[name="end"]').fill("17:00")
    await page.click("#rotation-publish")
    await page.wait_for_url("**/duty?month=2031-04", timeout=WAIT_MS)
    await status_says(page, "轮值方案已发布：2 个值班日")

    leaders = await duty.list_leaders(sm)
    holidays = await duty_bulk.list_holidays(sm, date(2031, 4, 1), date(2031, 5, 1))
    wanted = propose_rotation(
        leaders,
        RotationRequest(date(2031, 4, 1)),
        HolidayCalendar.of(holidays),
        today=date(2031, 3, 1),
    )
    names = {x.id: x.name for x in leaders}
    days = [s.starts_at.astimezone(BEIJING).date().isoformat() for s in wanted]
    assert [names[s.leader_id] for s in wanted] == [mayor.name, "王伟"]
    assert "2031-04-07" not in days
    for day, shift, hours in zip(days, wanted, ["09:00–12:00", "14:00–17:00"], strict=True):
        cell = page.locator(f'td[data-day="{day}"]')
        assert await cell.locator(".duty-leader").inner_text() == names[shift.leader_id]
        assert await cell.locator(".duty-time").inner_text() == hours
    assert await page.locator(".duty-shift").count() == 2
    holiday = await page.inner_text('td[data-day="2031-04-07"] .duty-holiday')
    assert holiday == "清明节（放假）"
    await page.screenshot(path=str(artifacts / "duty-month.png"), full_page=True)

    async with page.expect_download(timeout=WAIT_MS) as started:
        await page.click("#export-csv")
    download = await started.value
    assert download.suggested_filename == "duty-2031-04.csv"
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "date,start,end,leader,title,endpoints,note"
    assert lines[1:] == [
        f"{days[0]},09:00,12:00,陈市长,市长,PJSIP/8000,",
        f"{days[1]},14:00,17:00,王伟,副市长,PJSIP/8001 PJSIP/13800000000@trunk,",
    ]
    assert errors == []
