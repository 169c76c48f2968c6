"""Screen-pops end to end inside one process: AMI queue events → stored pop → the agent's
WebSocket, on SQLite and PostgreSQL (fixtures: tests/screen_pop_fixtures.py; through real
Asterisk and Chromium: tests/test_console_asterisk.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from ivr.db import analysis, calls, cases, screen_pops
from ivr.db.console_models import PopClose
from ivr.db.models import Role
from tests.screen_pop_fixtures import Desk, agent, next_message


async def test_a_ringing_call_pops_its_draft_with_history_and_is_acknowledged(
    desk: Desk, feed: Any
) -> None:
    name, _ = await agent(desk)
    ws = await feed()
    caller = f"139{uuid.uuid4().int % 10**8:08d}"  # the PostgreSQL database is shared
    earlier = await cases.create_blank_draft(desk.db, call_uniqueid=None, caller_number=caller)
    uniqueid, case_id = await desk.call_with_draft(caller=caller)
    await desk.ring(uniqueid, case_id, name)

    pop = await next_message(ws, "pop")
    assert pop["case"]["id"] == case_id and pop["case"]["transcript"] == "路灯坏了"
    assert pop["case"]["caller_number"] == caller and not pop["case"]["identity_masked"]
    assert pop["pop"]["state"] == "ringing" and pop["call"]["queue_joined_at"] is not None
    assert [h["id"] for h in pop["history"]] == [earlier]
    await ws.send_json({"type": "ack", "pop_id": pop["pop"]["id"], "rendered_at": 1})

    async def acked() -> bool:
        stored = await screen_pops.get_pop(desk.db, pop["pop"]["id"])
        return stored is not None and stored.acked_at is not None

    await _eventually(acked)

    await desk.event("AgentConnect", uniqueid, name)
    connected = await next_message(ws, "pop")
    assert connected["pop"]["state"] == "connected" and connected["pop"]["connected_at"]


async def test_a_pop_made_while_the_page_was_away_arrives_on_reconnect(
    desk: Desk, feed: Any
) -> None:
    name, _ = await agent(desk)
    first = await feed()
    await first.close()  # the page lost its connection
    uniqueid, case_id = await desk.call_with_draft()
    await desk.ring(uniqueid, case_id, name)
    again = await feed()  # the page's automatic reconnect
    pop = await next_message(again, "pop")
    assert pop["case"]["id"] == case_id


async def test_a_ring_out_withdraws_the_pop_and_an_ivr_less_call_still_pops(
    desk: Desk, feed: Any
) -> None:
    name, _ = await agent(desk)
    ws = await feed()
    uniqueid, case_id = await desk.call_with_draft()
    await desk.ring(uniqueid, case_id, name)
    pop = await next_message(ws, "pop")
    await desk.event("AgentRingNoAnswer", uniqueid, name)
    closed = await next_message(ws, "close")
    assert closed["pop_id"] == pop["pop"]["id"]
    assert await screen_pops.open_pops_of(desk.db, name) == []

    # AGI was down: no IVR_CASE_ID on the channel, no draft yet: the agent gets a blank one
    bare = f"{uuid.uuid4().int % 10**10}.2"
    await desk.ring(bare, None, name)
    blank = await next_message(ws, "pop")
    assert blank["case"]["transcript"] == "" and blank["case"]["status"] == "draft"
    assert (await cases.case_for_call(desk.db, bare)) is not None


async def test_the_transcript_landing_later_refreshes_the_pop(desk: Desk, feed: Any) -> None:
    name, _ = await agent(desk)
    ws = await feed()
    uniqueid, case_id = await desk.call_with_draft(transcript="", transcript_available=False)
    await desk.ring(uniqueid, case_id, name)
    assert (await next_message(ws, "pop"))["case"]["transcript"] == ""
    await analysis.apply_analysis(
        desk.db, case_id, fields={"transcript": "小区停水三天了", "transcript_available": True}
    )
    await desk.case_changed(case_id)
    refreshed = await next_message(ws, "pop")
    assert refreshed["case"]["transcript"] == "小区停水三天了"


async def test_registering_closes_the_pop_and_a_stale_edit_is_refused(
    desk: Desk, feed: Any
) -> None:
    name, csrf = await agent(desk)
    ws = await feed()
    uniqueid, case_id = await desk.call_with_draft()
    await desk.ring(uniqueid, case_id, name)
    version = (await next_message(ws, "pop"))["case"]["version"]
    await desk.event("AgentConnect", uniqueid, name)
    headers = {"X-CSRF-Token": csrf}
    edits = {"caller_name": "王女士", "address": "人民路12号", "whistleblower": True}

    stale = {"version": version - 1, "fields": edits}
    refused = await desk.client.post(f"/api/cases/{case_id}/register", json=stale, headers=headers)
    assert refused.status == 409 and "reload" in (await refused.json())["error"]
    assert (await cases.get_case(desk.db, case_id)).caller_name is None  # nothing written

    bad = {"version": version, "fields": {"priority": "whenever"}}
    refused = await desk.client.post(f"/api/cases/{case_id}/register", json=bad, headers=headers)
    assert refused.status == 400 and "priority" in (await refused.json())["error"]

    good = {"version": version, "fields": edits}
    answer = await desk.client.post(f"/api/cases/{case_id}/register", json=good, headers=headers)
    body = await answer.json()
    assert answer.status == 200, body
    assert body["case"]["number"].startswith("12345-")
    # a registered reporter's name is hidden even from the agent who took the call
    assert body["case"]["caller_name"] == "***" and body["case"]["identity_masked"]
    assert (await next_message(ws, "close"))["pop_id"]
    stored = await cases.get_case(desk.db, case_id)
    assert (stored.status, stored.caller_name, stored.whistleblower) == (
        "registered",
        "王女士",
        True,
    )
    assert await screen_pops.open_pops_of(desk.db, name) == []


async def test_only_who_holds_a_draft_registers_it_and_a_reporter_stays_masked(
    desk: Desk, feed: Any
) -> None:
    holder, csrf = await agent(desk)
    await feed()
    uniqueid, case_id = await desk.call_with_draft(caller="13900002222")
    await desk.ring(uniqueid, case_id, holder)
    await desk.event("AgentConnect", uniqueid, holder)
    version = (await cases.get_case(desk.db, case_id)).version
    edits = {"whistleblower": True, "summary": "举报某餐馆排污"}
    answer = await desk.client.post(
        f"/api/cases/{case_id}/register",
        json={"version": version, "fields": edits},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status == 200

    _, other_csrf = await agent(desk)  # another agent, who never had it on screen
    seen = await (await desk.client.get(f"/api/cases/{case_id}")).json()
    assert seen["case"]["caller_number"] == "***" and seen["case"]["identity_masked"]
    assert seen["history"] == [] and seen["recording_url"] is None
    assert (await desk.client.get(f"/api/cases/{case_id}/recording")).status == 403

    _, draft_id = await desk.call_with_draft()
    stranger = await desk.client.post(
        f"/api/cases/{draft_id}/register",
        json={"version": 1, "fields": {}},
        headers={"X-CSRF-Token": other_csrf},
    )
    assert stranger.status == 403

    await agent(desk, Role.OFFICE)
    office = await (await desk.client.get(f"/api/cases/{case_id}")).json()
    assert office["case"]["caller_number"] == "13900002222"
    await agent(desk, Role.DEPARTMENT)
    assert (await desk.client.get(f"/api/cases/{case_id}")).status == 403


async def test_the_feed_refuses_other_sites_anonymous_pages_and_other_roles(
    desk: Desk, feed: Any
) -> None:
    desk.client.session.cookie_jar.clear()
    with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
        await feed()
    assert anonymous.value.status == 401
    await agent(desk)
    with pytest.raises(aiohttp.WSServerHandshakeError) as forged:
        await feed(origin="http://evil.example:80")
    assert forged.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError) as missing:
        await desk.client.ws_connect("/ws/agent")  # no Origin at all
    assert missing.value.status == 403
    await agent(desk, Role.DEPARTMENT)
    with pytest.raises(aiohttp.WSServerHandshakeError) as department:
        await feed()
    assert department.value.status == 403


async def test_the_feed_answers_garbage_with_an_error_and_keeps_going(
    desk: Desk, feed: Any
) -> None:
    name, _ = await agent(desk)
    ws = await feed()
    for junk in ("not json", '{"type": "ack", "pop_id": "1"}', '{"type": "ack", "pop_id": -4}'):
        await ws.send_str(junk)
        assert (await next_message(ws, "error"))["error"]
    uniqueid, case_id = await desk.call_with_draft()
    await desk.ring(uniqueid, case_id, name)
    assert (await next_message(ws, "pop"))["case"]["id"] == case_id


async def test_manual_cases_are_registered_at_once_and_bad_ones_leave_nothing(
    desk: Desk,
) -> None:
    _, csrf = await agent(desk)
    headers = {"X-CSRF-Token": csrf}
    walk_in = {"channel": "walk_in", "caller_number": "13700003333"}
    walk_in["fields"] = {"summary": "来访反映噪音扰民", "category": "environment"}  # type: ignore[assignment]
    answer = await desk.client.post("/api/cases", json=walk_in, headers=headers)
    body = await answer.json()
    assert answer.status == 201, body
    case = await cases.get_case(desk.db, body["case"]["id"])
    assert (case.status, case.channel, case.summary) == (
        "registered",
        "walk_in",
        "来访反映噪音扰民",
    )
    before = len(await cases.caller_history(desk.db, "13700004444"))
    for bad, why in (
        ({"channel": "phone", "caller_number": "13700004444"}, "channel"),
        ({"channel": "mailbox", "caller_number": "13700004444", "fields": {"x": 1}}, "cannot set"),
        ({"channel": "mailbox", "caller_number": "13700004444", "fields": []}, "fields"),
    ):
        refused = await desk.client.post("/api/cases", json=bad, headers=headers)
        assert refused.status == 400 and why in (await refused.json())["error"]
    assert len(await cases.caller_history(desk.db, "13700004444")) == before
    no_csrf = await desk.client.post("/api/cases", json=walk_in)
    assert no_csrf.status == 403


async def test_dismissing_a_pop_takes_it_off_the_screen(desk: Desk, feed: Any) -> None:
    name, csrf = await agent(desk)
    ws = await feed()
    uniqueid, case_id = await desk.call_with_draft()
    await desk.ring(uniqueid, case_id, name)
    pop_id = (await next_message(ws, "pop"))["pop"]["id"]
    answer = await desk.client.post(f"/api/pops/{pop_id}/dismiss", headers={"X-CSRF-Token": csrf})
    assert answer.status == 200
    assert (await next_message(ws, "close"))["pop_id"] == pop_id
    stored = await screen_pops.get_pop(desk.db, pop_id)
    assert stored is not None and stored.close_reason is PopClose.DISMISSED
    for path in (
        "/api/pops/999999/dismiss",
        "/api/pops/abc/dismiss",
        f"/api/pops/{10**30}/dismiss",
    ):
        assert (await desk.client.post(path, headers={"X-CSRF-Token": csrf})).status == 404


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_pops_of_calls_that_ended_while_the_process_was_away_are_settled(
    desk: Desk, feed: Any
) -> None:
    name, _ = await agent(desk)
    ws = await feed()
    talking, talking_case = await desk.call_with_draft()
    await desk.ring(talking, talking_case, name)
    await desk.event("AgentConnect", talking, name)
    ringing, ringing_case = await desk.call_with_draft()
    await desk.ring(ringing, ringing_case, name)
    # both calls end while no handler hears it; after the next AMI login the reconciler has
    # closed their records, and the pops follow
    for uniqueid in (talking, ringing):
        await calls.record_hangup(desk.db, uniqueid, at=desk.handlers.services.clock(), cause="")
    await desk.handlers.settle_after_login()
    left = await screen_pops.open_pops_of(desk.db, name)
    assert [(p.case_id, p.state) for p in left] == [(talking_case, "ended")]
    closed, ended = set(), set()
    while not (closed and ended):
        message = await asyncio.wait_for(ws.receive_json(), 5)
        if message["type"] == "close":
            closed.add(message["pop_id"])  # the one that only rang
        elif message["type"] == "pop" and message["pop"]["state"] == "ended":
            ended.add(message["case"]["id"])
    assert ended == {talking_case}
