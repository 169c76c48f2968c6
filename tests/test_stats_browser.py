"""The statistics page in a real browser (Debian's chromium through Playwright).

What only a browser proves: the office reaches the page from its navigation, the page and its
stylesheet load under the Content-Security-Policy without a console error, the SVG charts are
drawn and coloured, the figures shown are those of the rows, and the period form (plain GET,
no script) switches to a day's hour-by-hour view. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from ivr.db.models import Role
from ivr.stats.periods import Kind, period_of
from ivr.web.app import make_app
from ivr.web.state import ConsolePolicy
from tests.browser import log_in, watch_errors
from tests.test_stats_queries import Sessions, expect, generated, world_of
from tests.test_stats_web import NOON, cheap_hashing
from tests.test_web_console import PASSWORD, FakeClock, add_user

pytest_plugins = ["tests.db_fixtures"]

__all__ = ["cheap_hashing"]  # the fixture shared with tests/test_stats_web.py
Server = Callable[[web.Application], Awaitable[TestServer]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_office_reads_its_statistics_in_a_browser(
    aiohttp_server: Server, own_sessionmaker: Sessions, browser: Browser, artifacts: Path
) -> None:
    await generated(own_sessionmaker)
    wanted = expect(await world_of(own_sessionmaker), period_of(Kind.MONTH, date(2024, 5, 1)))
    app = make_app(lambda: {}, db=own_sessionmaker, policy=ConsolePolicy(), clock=FakeClock(NOON))
    server = await aiohttp_server(app)
    username = await add_user(own_sessionmaker, Role.OFFICE, display_name="王主任")
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors = watch_errors(page, [])
    await log_in(page, str(server.make_url("")), username, PASSWORD, "/office")
    await page.click("nav >> text=统计分析")
    await page.wait_for_url("**/stats")

    assert await page.inner_text("#stats-label") == "2024年05月"  # this month, by the clock
    tile = page.locator('#stats-summary [data-figure="offered"] strong')
    assert await tile.inner_text() == str(wanted["calls"]["offered"])
    rate = wanted["calls"]["answered"] / wanted["calls"]["offered"]
    assert (
        await page.inner_text('#stats-summary [data-figure="answer_rate"] strong')
        == f"{rate * 100:.1f}%"
    )
    chart = page.locator("svg.chart.series")
    box = await chart.bounding_box()
    assert box is not None and box["width"] > 800 and box["height"] > 200
    answered = page.locator("svg.chart.series rect.bar.answered").first
    fill = await answered.evaluate("bar => getComputedStyle(bar).fill")
    assert fill == "rgb(31, 95, 153)", "stats.css coloured the bars"
    league = page.locator('table[data-table="departments"] tbody tr')
    assert await league.count() == len(wanted["departments"])
    assert await page.locator("#stats-leader .tile").count() > 0
    await page.screenshot(path=str(artifacts / "stats-month.png"), full_page=True)

    await page.select_option('select[name="period"]', "day")
    await page.fill('input[name="date"]', "2024-05-01")
    await page.click("#stats-period button[type=submit]")
    await page.wait_for_url("**/stats?period=day*")
    assert await page.inner_text("#stats-label") == "2024年05月01日"
    assert await page.locator("svg.chart.series rect.bar.offered").count() == 24  # by the hour
    await page.screenshot(path=str(artifacts / "stats-day.png"), full_page=True)
    assert errors == []
