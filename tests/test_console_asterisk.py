"""The agent console end to end: real Asterisk 22, the real ivr runtime, real headless Chromium.

An agent logs in and goes ready; a simulated citizen calls 12345 and speaks; the queue rings
the agent, whose page pops the draft; the transcript arrives on the page when vosk is done;
the agent corrects the draft, marks it as a report (举报) and registers it. The case is then
in the database with the agent's edits and the audit entry. Screenshots of the console and
the wallboard are saved as artifacts (IVR_TEST_ARTIFACTS, default artifacts/screenshots).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.async_api import Browser

from ivr.app import IvrRuntime
from ivr.db import analysis, cases, users
from ivr.db.models import CaseEventKind
from ivr.sim.calls import CallScript
from ivr.sim.demo import prompt_delay
from tests.browser import log_in
from tests.stack import Citizens, eventually
from tests.test_db_cases import events_of

pytestmark = pytest.mark.asterisk

INTERFACE = "Local/8102@agents-sim/n"  # [agents-sim] answers, talks 2 s, hangs up
PASSWORD = "console e2e password"


def _base(runtime: IvrRuntime) -> str:
    return f"http://{runtime.settings.web_host}:{runtime.settings.web_port}"


@pytest.fixture
async def only_our_agent(runtime: IvrRuntime, citizens: Citizens) -> AsyncIterator[None]:
    """The simulated agents paused, so the queue rings the console's agent."""
    sims = [f"Local/{8001 + i}@agents-sim/n" for i in range(runtime.settings.sim_agents)]
    queue = runtime.settings.queue_name

    async def pause(interface: str, paused: bool) -> None:
        fields = {"Action": "QueuePause", "Queue": queue, "Interface": interface}
        await citizens.ami.action(fields | {"Paused": str(paused).lower(), "Reason": "test"})

    for sim in sims:
        await pause(sim, True)
    try:
        yield
    finally:
        for sim in sims:
            await pause(sim, False)


async def test_a_call_pops_on_the_agents_page_and_the_agent_registers_it(
    runtime: IvrRuntime,
    citizens: Citizens,
    request_clip: Path,
    browser: Browser,
    artifacts: Path,
    only_our_agent: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert runtime.services is not None
    db = runtime.services.db
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    name = f"agent-{uuid.uuid4().hex[:8]}"
    await users.create_user(db, name, PASSWORD, "agent", display_name="李话务", interface=INTERFACE)
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    await log_in(page, _base(runtime), name, PASSWORD, "/agent")
    await page.wait_for_selector("#pop[data-feed=open]")
    await page.click("#presence-ready")
    await page.wait_for_function(
        "() => document.getElementById('presence').dataset.state === 'ready'"
    )

    caller = "13812345678"
    delay = prompt_delay(runtime.settings)
    script = CallScript(caller=caller, clip=request_clip, delay_seconds=delay)
    call = await citizens.sim.place(script)
    try:
        await page.wait_for_selector("#pop[data-pop-id]", timeout=90_000)
        assert await page.text_content("#pop-caller") == caller
        case = await cases.case_for_call(db, call.uniqueid)
        assert case is not None and await page.get_attribute("#case-form", "data-case-id") == str(
            case.id
        )

        async def analysed() -> bool:
            return await analysis.is_analysed(db, case.id)

        await eventually(analysed, 60, "the request transcribed onto the draft")
        transcript = (await cases.get_case(db, case.id)).transcript
        assert transcript, "vosk heard the request"
        # the transcript reaches the open page by itself (a `case` notice), no reload
        await page.wait_for_function(
            "t => document.getElementById('f-transcript').value === t", arg=transcript
        )
        await page.wait_for_selector("#case-fields:not([disabled])")  # answered: editable
        await page.screenshot(path=str(artifacts / "agent-console-pop.png"), full_page=True)

        await page.fill("#f-caller_name", "张先生")
        await page.fill("#f-address", "滨江路88号")
        await page.fill("#f-summary", "举报滨江路88号餐馆夜间排污")
        await page.select_option("#f-category", "environment")
        await page.check("#f-whistleblower")
        await page.click("#case-register")
        await page.wait_for_selector("#case-done:not([hidden])")
        shown = await page.text_content("#case-done")
        await page.screenshot(path=str(artifacts / "agent-console-registered.png"), full_page=True)
    finally:
        await citizens.sim.wait_ended(call, 90)
        await page.click("#presence-leave")

    stored = await cases.get_case(db, case.id)
    assert stored.status == "registered" and stored.number and stored.number in (shown or "")
    edited = (stored.caller_name, stored.address, stored.category)
    assert edited == ("张先生", "滨江路88号", "environment")
    assert stored.whistleblower and stored.summary == "举报滨江路88号餐馆夜间排污"
    assert stored.transcript == transcript  # what vosk heard is kept with the edits
    trail = await events_of(db, case.id)
    registered = [e for e in trail if e.kind == CaseEventKind.REGISTERED]
    assert len(registered) == 1 and registered[0].actor == name
    assert registered[0].after["caller_name"] == "张先生"
    assert await page.is_hidden("#case-form") and await page.is_visible("#pop-empty")
    assert problems == []


async def test_the_wallboard_shows_the_days_calls(
    runtime: IvrRuntime, browser: Browser, artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runtime.services is not None
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    name = f"office-{uuid.uuid4().hex[:8]}"
    await users.create_user(runtime.services.db, name, PASSWORD, "office", display_name="热线办")
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await log_in(page, _base(runtime), name, PASSWORD, "/office")
    await page.goto(f"{_base(runtime)}/wallboard")
    await page.wait_for_function(
        "() => /\\d/.test(document.querySelector('[data-figure=offered]').textContent)"
    )
    await page.screenshot(path=str(artifacts / "wallboard-live.png"), full_page=True)
