"""漏接回拨 through the real Asterisk 22, the real ivr runtime and headless Chromium.

A simulated citizen hangs up while waiting in the queue; an agent opens /callbacks, sees them
and clicks 回拨: Asterisk rings the agent's (simulated) phone, then, in [callback], the citizen
([citizen-sim] answers), and the dialplan's UserEvent records `reached`. A citizen whose number
starts with 9 never answers: that call back records `no_answer` and they stay on the list.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from playwright.async_api import Browser

from ivr.app import IvrRuntime
from ivr.callback_dialer import Ring, place_callback
from ivr.db import callback_views, calls, cases, users
from ivr.db.callback_attempts import Target
from ivr.db.callback_views import AttemptView
from ivr.db.callbacks import callback_list
from ivr.db.models import CaseEventKind
from ivr.services import utc_now
from ivr.sim.calls import CallScript
from tests.browser import log_in, watch_errors
from tests.stack import Citizens, eventually
from tests.test_callback_list import uniqueid_of
from tests.test_db_cases import events_of

pytestmark = pytest.mark.asterisk

AGENT_PHONE = "Local/8121@agents-sim"  # [agents-sim] answers, talks 2 s, hangs up
# [leaders-sim] 93XX answers and stays on the line for a minute: an agent who waits while
# the citizen's phone rings out
PATIENT_PHONE = "Local/9321@leaders-sim"
PASSWORD = "callback e2e password"


def _base(runtime: IvrRuntime) -> str:
    return f"http://{runtime.settings.web_host}:{runtime.settings.web_port}"


@pytest.fixture
async def agents_busy(runtime: IvrRuntime, citizens: Citizens) -> AsyncIterator[None]:
    """The simulated queue agents paused, so a caller waits in the queue until they give up."""

    async def pause(paused: bool) -> None:
        for i in range(runtime.settings.sim_agents):
            fields = {"Action": "QueuePause", "Queue": runtime.settings.queue_name}
            fields |= {"Interface": f"Local/{8001 + i}@agents-sim/n", "Reason": "test"}
            await citizens.ami.action(fields | {"Paused": str(paused).lower()})

    await pause(True)
    try:
        yield
    finally:
        await pause(False)


async def _gives_up_in_queue(runtime: IvrRuntime, citizens: Citizens, number: str) -> int:
    """A citizen presses 0 for an agent, waits, hangs up; the call record's id."""
    assert runtime.services is not None
    script = CallScript(caller=number, keys="0", delay_seconds=0.5, hangup_after=5.0)
    call = await citizens.sim.place(script)
    await citizens.sim.wait_ended(call, 60)
    db = runtime.services.db

    async def abandoned() -> bool:
        view = await calls.get_call(db, call.uniqueid)
        return view is not None and view.outcome == "abandoned"

    await eventually(abandoned, 15, f"the call of {number} recorded as abandoned")
    view = await calls.get_call(db, call.uniqueid)
    assert view is not None and view.needs_callback
    return view.id


async def _result(runtime: IvrRuntime, attempt_id: int) -> AttemptView:
    """The call back once the dialplan has reported how it went."""
    assert runtime.services is not None
    db = runtime.services.db

    async def reported() -> bool:
        return (await callback_views.get_attempt(db, attempt_id)).outcome != "placed"

    await eventually(reported, 60, f"the result of call back {attempt_id}")
    return await callback_views.get_attempt(db, attempt_id)


async def test_an_agent_calls_back_a_caller_who_gave_up_and_reaches_them(
    runtime: IvrRuntime,
    citizens: Citizens,
    agents_busy: None,
    browser: Browser,
    artifacts: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert runtime.services is not None
    db = runtime.services.db
    number = f"1381{uuid.uuid4().int % 10**7:07d}"
    call_id = await _gives_up_in_queue(runtime, citizens, number)
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    name = f"agent-{uuid.uuid4().hex[:8]}"
    await users.create_user(db, name, PASSWORD, "agent", interface=AGENT_PHONE)
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    problems = watch_errors(page, [])
    await log_in(page, _base(runtime), name, PASSWORD, "/agent")
    await page.goto(f"{_base(runtime)}/callbacks")
    row = page.locator(f'#cb-rows tr[data-number="{number}"]')
    await row.wait_for(timeout=10_000)
    assert "排队中挂机 1 次" in (await row.text_content() or "")
    await page.screenshot(path=str(artifacts / "callbacks-list.png"), full_page=True)

    await row.get_by_role("button", name="回拨").click()
    attempt_row = page.locator("#cb-attempts tr[data-outcome=reached]")
    await attempt_row.wait_for(timeout=60_000)
    await row.wait_for(state="detached", timeout=10_000)  # reached: off the list
    await page.wait_for_selector("#cb-status:has-text('回拨结束：已接通')")
    await attempt_row.get_by_role("button", name="备注").click()
    await page.fill("#cb-note", "市民已挂断前说明：路灯问题已有人处理")
    await page.click("#cb-save")
    await page.wait_for_selector("#cb-attempts tr:has-text('路灯问题已有人处理')")
    await page.screenshot(path=str(artifacts / "callbacks-reached.png"), full_page=True)

    recent = await callback_views.recent_attempts(db, since=utc_now().replace(year=2000))
    attempt = next(a for a in recent if a.number == number)
    assert (attempt.outcome, attempt.agent, attempt.interface) == ("reached", name, AGENT_PHONE)
    assert attempt.call_id == call_id and attempt.ended_at is not None
    assert attempt.note == "市民已挂断前说明：路灯问题已有人处理"
    case = await cases.case_for_call(db, await uniqueid_of(db, call_id))
    assert case is not None and attempt.case_id == case.id
    trail = await events_of(db, case.id)
    placed = [e for e in trail if e.kind == CaseEventKind.CALLBACK_PLACED]
    results = [e.after or {} for e in trail if e.kind == CaseEventKind.CALLBACK_RESULT]
    assert [e.actor for e in placed] == [name]
    assert results[0] | {"talk_seconds": None} == {
        "attempt_id": attempt.id,
        "outcome": "reached",
        "dial_status": "ANSWER",
        "talk_seconds": None,
    }
    assert results[1] == {"attempt_id": attempt.id, "done": False}, "the agent's note"
    assert problems == []


async def test_a_citizen_who_never_answers_is_recorded_and_stays_on_the_list(
    runtime: IvrRuntime, citizens: Citizens, agents_busy: None
) -> None:
    assert runtime.services is not None and runtime.ami is not None
    db = runtime.services.db
    number = f"9{uuid.uuid4().int % 10**10:010d}"  # [citizen-sim]: 9… never answers
    call_id = await _gives_up_in_queue(runtime, citizens, number)
    settings = runtime.settings.with_overrides(callback_ring_seconds=4)
    placed = await place_callback(
        runtime.ami,
        settings,
        db,
        Target(call_id=call_id),
        agent="patient-agent",
        interface=PATIENT_PHONE,
        clock=utc_now,
    )
    attempt = placed.attempt
    assert placed.ring is Ring.ANSWERED, "the agent's phone picked up"
    finished = await _result(runtime, attempt.id)
    assert finished.outcome == "no_answer"
    assert finished.case_id is not None
    results = [e for e in await events_of(db, finished.case_id) if e.kind == "callback_result"]
    assert results[-1].after is not None
    assert results[-1].after["dial_status"] == "NOANSWER", "rang out, not hung up on"
    row = next((r for r in await callback_list(db, now=utc_now()) if r.number == number), None)
    assert row is not None and row.attempts[0].id == attempt.id
