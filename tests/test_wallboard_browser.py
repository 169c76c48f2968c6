"""The wallboard in a real browser (Debian's chromium through Playwright).

What only a browser proves: wallboard.js runs under the Content-Security-Policy, shows the
figures of the calls in the database, follows a change with its next poll (no reload), and
says so when a poll fails or the telephony system is not connected.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, Route

from ivr.db import calls
from ivr.db.models import Role
from ivr.web.presence import Telephony
from ivr.web.state import ConsolePolicy
from tests.browser import log_in, watch_errors
from tests.test_presence_api import FakeAppQueue
from tests.test_wallboard import QUEUE, Scenario, cheap_hashing, now, seed, wallboard_app
from tests.test_web_console import PASSWORD, FakeClock, Sessions, add_user

__all__ = ["cheap_hashing", "now"]  # fixtures shared with tests/test_wallboard.py
Server = Callable[[web.Application], Awaitable[TestServer]]
POLL_TIMEOUT_MS = 5000  # the page polls every 2 s


async def open_wallboard(
    browser: Browser, server: TestServer, username: str, errors: list[str]
) -> Page:
    """Log in through the form and open /wallboard; console errors and 4xx/5xx go to `errors`."""
    page = await browser.new_page(viewport={"width": 1600, "height": 900})
    watch_errors(page, errors)
    await log_in(page, str(server.make_url("")), username, PASSWORD, "/office")
    await page.goto(str(server.make_url("/wallboard")))
    await until_text(page, "#wb-updated", "更新于 12:00:00")  # noon Beijing, the server's time
    return page


async def until_text(page: Page, selector: str, text: str) -> None:
    """Wait until the element's text is `text`."""
    await page.wait_for_function(
        "([s, t]) => document.querySelector(s).textContent === t",
        arg=[selector, text],
        timeout=POLL_TIMEOUT_MS,
    )


async def figure(page: Page, key: str) -> str:
    """The big number of one tile."""
    return await page.inner_text(f'[data-figure="{key}"]')


async def is_red(page: Page, key: str) -> bool:
    """Whether a tile is highlighted as missing its target."""
    classes = await page.get_attribute(f'[data-tile="{key}"]', "class")
    return "alert" in (classes or "").split()


async def test_wallboard_shows_the_day_and_follows_a_new_caller(
    aiohttp_server: Server,
    db_sessionmaker: Sessions,
    browser: Browser,
    artifacts: Path,
    now: datetime,
) -> None:
    midnight = now.replace(hour=16) - timedelta(days=1)  # 00:00 Beijing
    await seed(
        db_sessionmaker,
        [
            *(Scenario("answered", now - timedelta(hours=h), wait=w) for h, w in [(1, 5), (2, 12)]),
            Scenario("answered", midnight + timedelta(minutes=5), wait=40),
            Scenario("abandoned", now - timedelta(hours=3), wait=30),
            Scenario("waiting", now - timedelta(seconds=20)),
            Scenario("stale", now - timedelta(hours=6)),  # its hang-up was never recorded
            Scenario("answered", midnight - timedelta(hours=2), wait=8),  # yesterday, in 24 h
        ],
    )
    app_queue = FakeAppQueue()
    await app_queue.presence.resync(app_queue)
    for n, (status, paused) in enumerate([(1, "0"), (1, "0"), (1, "1"), (2, "0")]):
        fields = {"Paused": paused, "PausedReason": "meal" if paused == "1" else ""}
        await app_queue.emit("QueueMemberAdded", f"Local/81{n}@agents", status, **fields)
    telephony = Telephony(app_queue, app_queue.presence)
    app = wallboard_app(
        db=db_sessionmaker, policy=ConsolePolicy(), clock=FakeClock(now), telephony=telephony
    )
    server = await aiohttp_server(app)
    errors: list[str] = []
    page = await open_wallboard(
        browser, server, await add_user(db_sessionmaker, Role.OFFICE), errors
    )

    shown = {k: await figure(page, k) for k in ("waiting", "longest_wait", "offered", "answered")}
    assert shown == {"waiting": "1", "longest_wait": "0:20", "offered": "6", "answered": "3"}
    assert await figure(page, "service_level") == "33.3%"  # 2 of 6 within 15 s
    assert await figure(page, "average_wait") == "0:19"  # (5 + 12 + 40) / 3
    assert await figure(page, "abandoned") == "1"
    assert await figure(page, "answer_rate_24h") == "57.1%"  # 4 of 7
    assert await page.inner_text("#wb-stale") == (
        "另有 1 通来电长时间无结束记录（可能漏记挂机），未计入排队，请核查"
    )
    agents = [await figure(page, k) for k in ("ready", "paused", "ringing", "on_call")]
    assert agents == ["2", "1", "0", "1"]
    assert await page.inner_text('[data-note="answered"]') == "接通率 50.0%"
    assert await is_red(page, "service_level") and await is_red(page, "answer_rate_24h")
    assert not await is_red(page, "longest_wait")
    assert await page.locator("#wb-telephony").is_hidden()

    # a caller who has waited 75 s joins: the next poll shows it, in red, without a reload
    await page.evaluate("window.notReloaded = true")
    await calls.record_queue_join(
        db_sessionmaker, f"wb-{uuid.uuid4().hex}", at=now - timedelta(seconds=75), queue=QUEUE
    )
    await until_text(page, '[data-figure="waiting"]', "2")
    assert await figure(page, "longest_wait") == "1:15" and await is_red(page, "longest_wait")
    assert await figure(page, "offered") == "7"
    assert await page.evaluate("window.notReloaded") is True
    await page.screenshot(path=str(artifacts / "wallboard.png"), full_page=True)
    assert errors == []


async def test_wallboard_says_when_telephony_or_the_server_is_away(
    aiohttp_server: Server,
    db_sessionmaker: Sessions,
    browser: Browser,
    artifacts: Path,
    now: datetime,
) -> None:
    app = wallboard_app(db=db_sessionmaker, policy=ConsolePolicy(), clock=FakeClock(now))
    server = await aiohttp_server(app)
    errors: list[str] = []
    page = await open_wallboard(
        browser, server, await add_user(db_sessionmaker, Role.OFFICE), errors
    )
    assert await page.inner_text("#wb-telephony") == "电话系统未连接"
    assert await page.locator('[data-tile="ready"]').is_hidden()
    assert await figure(page, "service_level") == "—"  # no calls: no rate, not 0 %

    async def refuse(route: Route) -> None:
        await route.abort()

    await page.route("**/api/wallboard", refuse)
    error = page.locator("#wb-error")
    await error.wait_for(state="visible", timeout=POLL_TIMEOUT_MS)
    assert "数据更新失败（无法连接服务器），正在重试" in await error.inner_text()
    await page.screenshot(path=str(artifacts / "wallboard-offline.png"), full_page=True)
    await page.unroute("**/api/wallboard")
    await error.wait_for(state="hidden", timeout=POLL_TIMEOUT_MS)
    assert await figure(page, "waiting") == "0"
