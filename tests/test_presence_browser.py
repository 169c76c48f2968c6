"""The agent page's presence panel in a real browser (Debian's chromium through Playwright).

What only a browser proves: /agent.js runs under the Content-Security-Policy, its POSTs
carry the CSRF token from the page, and the state shown follows what the telephony side
reports, including a change nobody clicked (the 2 s poll).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from playwright.async_api import Browser, Page

from ivr.db import users
from ivr.web.app import make_app
from ivr.web.presence import Telephony
from tests.browser import log_in, watch_errors
from tests.test_presence_api import ME, FakeAppQueue
from tests.test_web_console import PASSWORD, Sessions


async def shows(page: Page, text: str) -> None:
    """Wait until the panel's state reads `text` (the poll runs every 2 s)."""
    await page.wait_for_function(
        "t => document.getElementById('presence-state').textContent === t", arg=text, timeout=5000
    )


async def test_agent_goes_ready_pauses_and_leaves_from_the_page(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    db_sessionmaker: Sessions,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    name = f"agent-{uuid.uuid4().hex[:10]}"
    await users.create_user(db_sessionmaker, name, PASSWORD, "agent", interface=ME)
    app_queue = FakeAppQueue()
    await app_queue.presence.resync(app_queue)
    telephony = Telephony(app_queue, app_queue.presence)
    server = await aiohttp_server(make_app(lambda: {}, db=db_sessionmaker, telephony=telephony))
    page = await browser.new_page()
    refused = watch_errors(page, [])

    await log_in(page, str(server.make_url("")), name, PASSWORD, "/agent")
    await shows(page, "未签入队列")
    await page.click("#presence-ready")
    await shows(page, "就绪")
    await page.select_option("#presence-reason", "meal")
    await page.click("#presence-pause")
    await shows(page, "暂停（用餐）")
    assert app_queue.sent[-1]["Reason"] == "meal"
    # a change made in Asterisk, not on this page, shows up with the next poll
    await app_queue.emit("QueueMemberStatus", ME, status=2, Paused="1", PausedReason="meal")
    await shows(page, "通话中（已暂停：用餐）")
    await app_queue.emit("QueueMemberStatus", ME, status=1, Paused="1", PausedReason="meal")
    await page.click("#presence-leave")
    await shows(page, "未签入队列")
    assert [a["Action"] for a in app_queue.sent[1:]] == ["QueueAdd", "QueuePause", "QueueRemove"]
    assert refused == []


async def test_the_page_says_when_telephony_is_down(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    db_sessionmaker: Sessions,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    name = f"agent-{uuid.uuid4().hex[:10]}"
    await users.create_user(db_sessionmaker, name, PASSWORD, "agent", interface=ME)
    app_queue = FakeAppQueue()  # never logged in: the map was never rebuilt
    telephony = Telephony(app_queue, app_queue.presence)
    server = await aiohttp_server(make_app(lambda: {}, db=db_sessionmaker, telephony=telephony))
    page = await browser.new_page()
    await log_in(page, str(server.make_url("")), name, PASSWORD, "/agent")
    error = page.locator("#presence-error")
    await error.wait_for(state="visible", timeout=5000)
    assert await error.inner_text() == "telephony unavailable"
    await page.click("#presence-ready")
    assert await error.inner_text() == "telephony unavailable"
    assert app_queue.sent == []
