"""The login pages in a real browser (Debian's chromium through Playwright).

What only a browser proves: the SameSite=Strict cookies survive the login redirects, the
Content-Security-Policy lets the page's own stylesheet and form through, and nothing on
the page is refused by it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from playwright.async_api import Browser
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import users
from ivr.web.app import make_app
from tests.browser import watch_errors

pytest_plugins = ["tests.db_fixtures"]

PASSWORD = "correct horse battery"


async def test_agent_logs_in_sees_the_page_and_logs_out(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    db_sessionmaker: async_sessionmaker[AsyncSession],
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    name = f"agent-{uuid.uuid4().hex[:10]}"
    await users.create_user(
        db_sessionmaker, name, PASSWORD, "agent", display_name="王小丽", interface="PJSIP/8001"
    )
    server = await aiohttp_server(make_app(lambda: {}, db=db_sessionmaker))
    page = await browser.new_page()
    refused = watch_errors(page, [])

    await page.goto(str(server.make_url("/")))
    assert page.url.endswith("/login")
    await page.fill("#username", name)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/agent")
    assert "王小丽" in await page.inner_text("main")
    assert "PJSIP/8001" in await page.inner_text("main")
    # The stylesheet came through the CSP: the header has its colour, not the default.
    colour = await page.eval_on_selector("header", "e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(139, 26, 26)"

    await page.click("text=退出登录")
    await page.wait_for_url("**/login")
    await page.goto(str(server.make_url("/agent")))
    assert page.url.endswith("/login"), "logged out: the agent page sends back to login"
    assert refused == []
