"""The agent page's pop feed in real headless Chromium (fast: the AMI events are fed to the
real handlers by the test; tests/test_console_asterisk.py does it through Asterisk).

What only a browser proves: the page opens the WebSocket under the CSP with the right
Origin, renders a pop, reconnects by itself after the connection drops and then shows a pop
that was made while it was away, and makes the form editable when the call connects.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from argon2 import PasswordHasher
from playwright.async_api import Browser, Page

from ivr.db import users
from ivr.web.agent_socket import sockets_key
from ivr.web.app import make_app
from ivr.web.pop_bus import PopBus
from ivr.web.state import ConsolePolicy
from tests.browser import log_in
from tests.screen_pop_fixtures import INTERFACE, FakeClock, QueueCalls
from tests.test_web_console import PASSWORD, Sessions


@pytest.fixture
async def console(
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
    db_sessionmaker: Sessions,
    fresh_instant: Callable[[], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[TestServer, QueueCalls]:
    """A console server and the AMI handlers on its bus."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    bus, clock = PopBus(), FakeClock(fresh_instant())
    app = make_app(lambda: {}, db=db_sessionmaker, policy=ConsolePolicy(), clock=clock, bus=bus)
    server = await aiohttp_server(app)
    return server, QueueCalls(db_sessionmaker, bus, clock)


async def logged_in_agent(page: Page, server: TestServer, db: Sessions) -> str:
    """A new agent on the console page, its pop feed open."""
    name = f"agent-{uuid.uuid4().hex[:10]}"
    await users.create_user(db, name, PASSWORD, "agent", interface=INTERFACE)
    await log_in(page, str(server.make_url("")), name, PASSWORD, "/agent")
    await page.wait_for_selector("#pop[data-feed=open]")
    return name


async def test_the_page_reconnects_and_shows_a_pop_made_while_it_was_away(
    console: tuple[TestServer, QueueCalls], browser: Browser, artifacts: Path
) -> None:
    server, queue = console
    page = await browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    name = await logged_in_agent(page, server, queue.db)

    # the connection drops (a proxy restart, a laptop's Wi-Fi): the server closes the socket
    for ws in list(server.app[sockets_key]):
        await ws.close()
    await page.wait_for_selector("#pop[data-feed=closed]")
    uniqueid, case_id = await queue.call_with_draft(caller="13811112222")
    await queue.ring(uniqueid, case_id, name)  # nobody is connected to hear it

    await page.wait_for_selector("#pop[data-pop-id][data-state=ringing]", timeout=10_000)
    assert await page.text_content("#pop-caller") == "13811112222"
    assert await page.get_attribute("#case-form", "data-case-id") == str(case_id)
    assert await page.is_disabled("#case-register"), "not editable while it only rings"
    assert await page.input_value("#f-transcript") == "路灯坏了"

    await queue.event("AgentConnect", uniqueid, name)
    await page.wait_for_selector("#pop[data-state=connected]")
    await page.wait_for_selector("#case-register:not([disabled])")
    await page.screenshot(path=str(artifacts / "agent-console-reconnected.png"), full_page=True)
    # ignoring what the browser reports about the dropped socket itself
    assert [e for e in errors if "WebSocket" not in e] == []


async def test_a_second_call_never_wipes_what_the_agent_is_typing(
    console: tuple[TestServer, QueueCalls], browser: Browser
) -> None:
    server, queue = console
    page = await browser.new_page()
    name = await logged_in_agent(page, server, queue.db)
    first, first_case = await queue.call_with_draft(caller="13822223333")
    await queue.ring(first, first_case, name)
    await queue.event("AgentConnect", first, name)
    await page.wait_for_selector("#case-register:not([disabled])")
    await page.fill("#f-summary", "正在记录：小区路灯不亮")

    second, second_case = await queue.call_with_draft(caller="13844445555")
    await queue.ring(second, second_case, name)  # wrap-up time 0: the queue rings again
    await page.wait_for_selector("#pop-waiting:not([hidden])")
    assert await page.get_attribute("#case-form", "data-case-id") == str(first_case)
    assert await page.input_value("#f-summary") == "正在记录：小区路灯不亮"
    assert "13844445555" in (await page.text_content("#pop-waiting-text") or "")

    await page.click("#pop-switch")
    await page.wait_for_function(
        "id => document.getElementById('case-form').dataset.caseId === id",
        arg=str(second_case),
    )
    assert await page.text_content("#pop-caller") == "13844445555"
