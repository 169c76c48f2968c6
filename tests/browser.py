"""Headless Chromium for console tests: Debian's chromium driven by Playwright.

Never `playwright install`: the browser is the system package. The flags keep Chromium from
reaching for the network (these machines have none) and from needing a GPU.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium, closed after the test."""
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests save screenshots for people to look at (IVR_TEST_ARTIFACTS)."""
    folder = Path(os.environ.get("IVR_TEST_ARTIFACTS", "artifacts/screenshots")).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def log_in(page: Page, base_url: str, username: str, password: str, lands_on: str) -> None:
    """Sign in through the console's login form and wait for the role's page `lands_on`."""
    await page.goto(f"{base_url}/login")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"**{lands_on}")


def watch_errors(page: Page, errors: list[str]) -> list[str]:
    """Collect the page's console errors and the URLs of its 4xx/5xx answers in `errors`."""
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
    return errors
