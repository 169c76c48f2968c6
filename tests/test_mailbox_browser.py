"""The public mailbox in a real browser (Debian's chromium through Playwright).

What only a browser proves: the form works under the Content-Security-Policy with no
script at all, the honeypot is out of sight, a refusal keeps what was typed, the query
code can be read off the page and looked up, and the Chinese text is drawn with real
glyphs (a CJK font), not empty boxes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page

from ivr.settings import Settings
from ivr.web.app import make_app
from tests.browser import watch_errors
from tests.test_mailbox_web import STREETLIGHT, Sessions, a_phone, clock, settings
from tests.test_web_console import FakeClock

__all__ = ["clock", "settings"]  # fixtures shared with test_mailbox_web

pytest_plugins = ["tests.db_fixtures"]

Server = Callable[[web.Application], Awaitable[TestServer]]
# Two different characters drawn in the page's font, and a character no font has: with a
# CJK font the three pictures differ; without one the first two are the same empty box.
DRAWN_APART = """() => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  const pen = canvas.getContext("2d");
  pen.font = "40px " + getComputedStyle(document.body).fontFamily;
  const draw = (text) => {
    pen.clearRect(0, 0, 48, 48);
    pen.fillText(text, 2, 40);
    return pen.getImageData(0, 0, 48, 48).data.join();
  };
  const [shi, zhang, none] = [draw("市"), draw("长"), draw("\\u{10FFFD}")];
  return shi !== zhang && shi !== none && zhang !== none;
}"""


async def fill_letter(page: Page, phone: str) -> None:
    """Type a letter the way a citizen would."""
    await page.fill("#name", "张三")
    await page.fill("#phone", phone)
    await page.fill("#address", "人民路12号")
    await page.fill("#subject", "路灯不亮")
    await page.fill("#content", STREETLIGHT)
    await page.check("#consent")


async def test_a_citizen_writes_reads_the_code_and_looks_it_up(
    aiohttp_server: Server,
    db_sessionmaker: Sessions,
    browser: Browser,
    artifacts: Path,
    settings: Settings,
    clock: FakeClock,
) -> None:
    app = make_app(lambda: {}, db=db_sessionmaker, settings=settings, clock=clock)
    server = await aiohttp_server(app)
    page = await browser.new_page(viewport={"width": 1000, "height": 1200})
    errors = watch_errors(page, [])

    await page.goto(str(server.make_url("/mailbox")))
    trap = await page.locator("#homepage").bounding_box()
    assert trap is not None and trap["x"] + trap["width"] < 0, "the honeypot is off-screen"
    await fill_letter(page, a_phone())
    await page.click("button[type=submit]")  # at once: faster than anyone types
    await page.wait_for_selector(".error")
    assert "提交太快了" in await page.inner_text(".error")
    assert await page.input_value("#content") == STREETLIGHT  # nothing lost
    assert await page.is_checked("#consent")
    await page.screenshot(path=str(artifacts / "mailbox-form.png"), full_page=True)

    clock.advance(seconds=30)
    await page.click("button[type=submit]")
    code = (await page.inner_text("#query-code", timeout=10_000)).strip()
    assert len(code) == 14 and code.count("-") == 2
    assert await page.evaluate(DRAWN_APART), "Chinese is drawn with a CJK font"
    await page.screenshot(path=str(artifacts / "mailbox-code.png"), full_page=True)

    await page.click("text=查询办理进度")
    await page.wait_for_url("**/mailbox/query")
    await page.fill("#code", code.lower())
    await page.click("button[type=submit]")
    facts = await page.inner_text("#progress", timeout=10_000)
    assert "待受理" in facts and "尚未受理" in facts
    await page.screenshot(path=str(artifacts / "mailbox-progress.png"), full_page=True)
    # the one refusal was the deliberate one (its URL and the console's note of its 400):
    # no CSP violation, no other error
    refused = str(server.make_url("/mailbox"))
    assert refused in errors
    assert [e for e in errors if e != refused and "status of 400" not in e] == []
