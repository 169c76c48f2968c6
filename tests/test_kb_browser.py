"""The knowledge base in real headless Chromium (the AMI events are fed to the real handlers
by the test, as in tests/test_screen_pop_browser.py).

What only a browser proves: the pop shows the articles its transcript suggests with the
matched words marked, under the CSP; the agent opens one and answers the caller with it
(以此答复) once the call is connected, and the case is recorded as a consultation resolved at
first contact with that article. The office writes an article on the /kb page and finds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from aiohttp.web import Application
from playwright.async_api import Browser

from ivr.db import kb, users
from ivr.db.models import Case
from ivr.kb.articles import Article
from ivr.web.app import make_app
from ivr.web.pop_bus import PopBus
from ivr.web.state import ConsolePolicy
from tests.browser import log_in, watch_errors
from tests.screen_pop_fixtures import QueueCalls
from tests.test_kb_answer import ASKED
from tests.test_kb_search import PENSION, RESIDENCE, add_articles, tokenizer
from tests.test_screen_pop_browser import logged_in_agent
from tests.test_web_console import PASSWORD, FakeClock, Sessions, cheap_hashing

__all__ = ["cheap_hashing"]  # the fixture shared with test_web_console


@pytest.fixture
async def console(
    aiohttp_server: Callable[[Application], Awaitable[TestServer]],
    own_sessionmaker: Sessions,
    fresh_instant: Callable[[], Any],
) -> tuple[TestServer, QueueCalls, dict[str, Article]]:
    """A console server, the AMI handlers on its bus, and the test articles."""
    bus, clock = PopBus(), FakeClock(fresh_instant())
    app = make_app(lambda: {}, db=own_sessionmaker, policy=ConsolePolicy(), clock=clock, bus=bus)
    server = await aiohttp_server(app)
    library = await add_articles(own_sessionmaker, kb.KbSearch(own_sessionmaker, tokenizer))
    return server, QueueCalls(own_sessionmaker, bus, clock), library


async def test_the_agent_answers_a_consultation_with_a_suggested_article(
    console: tuple[TestServer, QueueCalls, dict[str, Article]], browser: Browser, artifacts: Path
) -> None:
    server, queue, library = console
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = watch_errors(page, [])
    name = await logged_in_agent(page, server, queue.db)
    uniqueid, case_id = await queue.call_with_draft(caller="13855556666", transcript=ASKED)
    await queue.ring(uniqueid, case_id, name)

    pension = library[PENSION].id
    first = f"#kb-suggestions li[data-article-id='{pension}']"
    await page.wait_for_selector(first, timeout=10_000)
    marked = await page.eval_on_selector_all(f"{first} mark", "ms => ms.map(m => m.textContent)")
    assert "住房公积金" in marked and "提取" in marked
    await page.click(f"{first} .kb-hit-title")
    await page.wait_for_selector(f"#kb-article[data-article-id='{pension}']:not([hidden])")
    assert await page.text_content("#kb-article-title") == PENSION
    assert await page.is_disabled("#kb-answer"), "no answer while the phone only rings"

    await queue.event("AgentConnect", uniqueid, name)
    await page.wait_for_selector("#kb-answer:not([disabled])")
    await page.fill("#f-summary", "咨询住房公积金提取材料，已按知识库答复")
    await page.screenshot(path=str(artifacts / "kb-agent-suggestions.png"), full_page=True)
    await page.click("#kb-answer")
    await page.wait_for_selector("#case-done:not([hidden])")
    assert "当场答复" in (await page.text_content("#case-done") or "")
    await page.wait_for_selector("#pop-empty:not([hidden])")  # the pop left the screen
    await page.screenshot(path=str(artifacts / "kb-agent-answered.png"), full_page=True)

    async with queue.db() as session:
        case = await session.get(Case, case_id)
    assert case is not None
    assert (case.status, case.kb_article_id, case.first_contact_resolved) == (
        "archived",
        pension,
        True,
    )
    assert case.summary == "咨询住房公积金提取材料，已按知识库答复"

    await page.fill("#kb-q", "居住证怎么办理")
    await page.click("#kb-search button[type=submit]")
    await page.wait_for_selector(f"#kb-results li[data-article-id='{library[RESIDENCE].id}']")
    assert errors == []


async def test_the_office_writes_an_article_on_the_kb_page(
    console: tuple[TestServer, QueueCalls, dict[str, Article]], browser: Browser, artifacts: Path
) -> None:
    server, queue, _ = console
    await users.create_user(queue.db, "office-kb", PASSWORD, "office")
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = watch_errors(page, [])
    await log_in(page, str(server.make_url("")), "office-kb", PASSWORD, "/office")
    await page.click("a[href='/kb']")
    await page.wait_for_selector("#kb-list-rows tr")
    await page.click("#kb-new")
    await page.fill("#kb-title", "新生儿医保参保登记")
    await page.select_option("#kb-category", "health")
    await page.fill("#kb-owner", "市医保局")
    await page.fill("#kb-valid-from", "2031-01-01")
    await page.fill("#kb-valid-until", "2030-12-31")  # before it starts: refused
    await page.fill("#kb-body", "新生儿出生后三个月内办理参保登记，自出生之日起享受医保待遇。")
    await page.click("#kb-save")
    await page.wait_for_selector("#kb-editor-error:not([hidden])")
    assert "不能早于" in (await page.text_content("#kb-editor-error") or "")
    await page.fill("#kb-valid-until", "")
    await page.click("#kb-save")
    await page.wait_for_selector("#kb-editor", state="hidden")
    await page.fill("#kb-q", "新生儿怎么参保")
    await page.click("#kb-search button[type=submit]")
    await page.wait_for_selector("#kb-results li mark")
    assert "新生儿医保参保登记" in (await page.text_content("#kb-results li") or "")
    await page.screenshot(path=str(artifacts / "kb-office-page.png"), full_page=True)
    # the refused save, as the page's log and as a 4xx answer, and nothing else
    refused = [e for e in errors if e.endswith("/api/kb/articles") or "status of 400" in e]
    assert len(refused) == 2 and refused == errors
