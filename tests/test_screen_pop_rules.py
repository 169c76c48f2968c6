"""The rules around screen-pops: whistleblowers stay masked, only the agent on the answered
call registers, sessions and failures close the feed, and bad input gets a 4xx.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest

from ivr.db import cases, screen_pops
from ivr.db.models import Role
from ivr.web.pop_bus import Notice, NoticeKind
from tests.screen_pop_fixtures import Desk, agent


async def test_a_reporters_words_and_other_reports_stay_hidden_from_other_agents(
    desk: Desk, feed: Any
) -> None:
    caller = f"137{uuid.uuid4().int % 10**8:08d}"
    holder, csrf = await agent(desk)
    await feed()
    said = f"我叫赵六，电话{caller}，举报工地夜间施工"
    uniqueid, report = await desk.call_with_draft(caller=caller, transcript=said, summary=said)
    await desk.ring(uniqueid, report, holder)
    await desk.event("AgentConnect", uniqueid, holder)
    version = (await cases.get_case(desk.db, report)).version
    edits = {
        "whistleblower": True,
        "caller_name": "赵六",
        "summary": f"赵六举报工地夜间施工 {caller}",
    }
    answer = await desk.client.post(
        f"/api/cases/{report}/register",
        json={"version": version, "fields": edits},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status == 200
    _, ordinary = await desk.call_with_draft(caller=caller)  # the same person calls again

    await agent(desk)  # another agent opens both
    seen = (await (await desk.client.get(f"/api/cases/{report}")).json())["case"]
    assert caller not in str(seen) and "赵六" not in str(seen)
    assert seen["summary"] == "***举报工地夜间施工 ***" and "保密" in seen["transcript"]
    later = await (await desk.client.get(f"/api/cases/{ordinary}")).json()
    assert later["case"]["caller_number"] == caller  # not a report: shown
    assert report not in [h["id"] for h in later["history"]], "the report would name its author"

    await agent(desk, Role.OFFICE)
    office = await (await desk.client.get(f"/api/cases/{ordinary}")).json()
    assert report in [h["id"] for h in office["history"]]


async def test_registration_needs_the_answered_call_and_agents_cannot_claim_a_leader(
    desk: Desk, feed: Any
) -> None:
    name, csrf = await agent(desk)
    await feed()
    uniqueid, case_id = await desk.call_with_draft()
    await desk.ring(uniqueid, case_id, name)
    version = (await cases.get_case(desk.db, case_id)).version
    body = {"version": version, "fields": {"leader_handled": True, "summary": "路灯"}}
    path, headers = f"/api/cases/{case_id}/register", {"X-CSRF-Token": csrf}
    ringing = await desk.client.post(path, json=body, headers=headers)
    assert ringing.status == 403, "registered while the phone only rang"
    await desk.event("AgentConnect", uniqueid, name)
    answered = await desk.client.post(path, json=body, headers=headers)
    assert answered.status == 200
    assert not (await cases.get_case(desk.db, case_id)).leader_handled
    # a late AgentConnect (a transfer back) does not reopen the registered case's pop
    await desk.event("AgentConnect", uniqueid, name)
    assert await screen_pops.open_pops_of(desk.db, name) == []


async def test_a_phone_shared_by_two_logins_pops_on_neither(desk: Desk, feed: Any) -> None:
    first, _ = await agent(desk)
    await agent(desk)  # a second login on the same INTERFACE
    uniqueid, case_id = await desk.call_with_draft()
    await desk.ring(uniqueid, case_id, "Local/8101@agents-sim/n")  # a static member's name
    assert await screen_pops.users_showing(desk.db, case_id) == []
    await desk.ring(uniqueid, case_id, first)  # our QueueAdd names the member: that one pops
    assert await screen_pops.users_showing(desk.db, case_id) == [first]


async def test_bad_bodies_and_origins_get_4xx_never_500(desk: Desk) -> None:
    _, csrf = await agent(desk)
    _, case_id = await desk.call_with_draft()
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    path = f"/api/cases/{case_id}/register"
    for body, status in (
        ('{"version": 1, "fields": {"priority": []}}', 403),  # not theirs: refused first
        ("[" * 5000 + "]" * 5000, 400),
        ('{"version": "1"}', 400),
        ("null", 400),
    ):
        answer = await desk.client.post(path, data=body, headers=headers)
        assert answer.status == status, (body[:40], await answer.text())
    manual = '{"channel": "walk_in", "caller_number": "1", "fields": {"%s": %s}}'
    for field, value, why in (
        ("priority", "[]", "priority"),
        ("summary", '"nul\\u0000byte"', "NUL"),
        ("whistleblower", '"yes"', "whistleblower"),
    ):
        answer = await desk.client.post("/api/cases", data=manual % (field, value), headers=headers)
        assert answer.status == 400 and why in (await answer.json())["error"]
    for origin in ("http://[::1", "null", "file://"):
        handshake = await desk.client.get(
            "/ws/agent",
            headers={"Origin": origin, "Connection": "Upgrade", "Upgrade": "websocket"},
        )
        assert handshake.status == 403


async def test_a_logged_out_session_loses_a_busy_feed(
    desk: Desk, feed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivr.web import agent_socket

    monkeypatch.setattr(agent_socket, "SESSION_CHECK_SECONDS", 0.3)
    name, csrf = await agent(desk)
    ws = await feed()
    await desk.client.post("/logout", data={"csrf_token": csrf})
    bus = desk.handlers.bus

    async def keep_busy() -> None:  # notices every 50 ms: the check must not wait for quiet
        while True:
            await bus.publish(Notice(name, NoticeKind.CLOSE, pop_id=1))
            await asyncio.sleep(0.05)

    busy = asyncio.create_task(keep_busy())
    try:
        while (message := await asyncio.wait_for(ws.receive(), 5)).type is aiohttp.WSMsgType.TEXT:
            pass
    finally:
        busy.cancel()
    assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 4001


async def test_a_failing_feed_closes_the_socket_so_the_page_reconnects(
    desk: Desk, feed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ivr.web import agent_socket

    name, _ = await agent(desk)
    ws = await feed()
    uniqueid, case_id = await desk.call_with_draft()

    async def broken(*args: object) -> dict[str, Any]:
        raise ConnectionError("database went away")

    monkeypatch.setattr(agent_socket, "pop_json", broken)
    await desk.ring(uniqueid, case_id, name)
    while (message := await asyncio.wait_for(ws.receive(), 5)).type is aiohttp.WSMsgType.TEXT:
        pass
    assert message.type is aiohttp.WSMsgType.CLOSE and message.data == 1011
