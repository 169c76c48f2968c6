"""漏接回拨 through the real app factory and a real database, with a stand-in for AMI (the real
call through Asterisk is tests/test_callback_asterisk.py): who may, what is dialled, what is
refused, the result the dialplan reports, the note and "done", and masked reporters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from sqlalchemy import update

from ivr.callback_dialer import outcome_of
from ivr.cases.taxonomy import load_taxonomy
from ivr.db import users
from ivr.db.models import Case, Role
from ivr.errors import AmiError
from ivr.handlers.agent_presence import AgentPresence
from ivr.handlers.callback_events import CallbackEvents
from ivr.services import Services, utc_now
from ivr.settings import Settings
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.presence import Telephony
from ivr.web.state import ConsolePolicy
from tests.test_callback_list import abandoned, answered, case_of
from tests.test_db_calls import new_number
from tests.test_web_console import PASSWORD, FakeClock, Sessions, add_user, csrf_of, login

Client = TestClient[Any, Any]
PHONE = "PJSIP/8001"
SETTINGS = Settings(followup_dial="Local/{number}@citizen-sim/n", callback_ring_seconds=25)
ROUTES = [
    ("GET", "/callbacks"),
    ("GET", "/api/callbacks"),
    ("POST", "/api/callbacks/attempts"),
    ("POST", "/api/callbacks/attempts/{attempt_id}/note"),
]


class FakeAmi:
    """Originate answered by the agent's phone, refused, or held ringing until `release`."""

    def __init__(self) -> None:
        self.logged_in = asyncio.Event()
        self.logged_in.set()
        self.sent: list[dict[str, Any]] = []
        self.as_list: bool | None = None
        self.answer = True
        self.ringing: asyncio.Event | None = None

    async def action(
        self, fields: Mapping[str, Any], timeout: float = 10, *, as_list: bool | None = None
    ) -> Any:
        self.sent.append(dict(fields))
        self.as_list = as_list
        if self.ringing is not None:
            await self.ringing.wait()
        if not self.answer:
            raise AmiError("AMI Originate failed: Originate failed")
        return {"Response": "Success", "Message": "Originate successfully queued"}


class Console:
    """A console app on the stand-in; log in as someone with `as_`."""

    def __init__(self, client: Client, ami: FakeAmi, db: Sessions, clock: FakeClock) -> None:
        self.client, self.ami, self.db, self.clock = client, ami, db, clock
        self.csrf = ""

    async def as_(self, role: Role, interface: str | None = None) -> str:
        """Log in as a new user of that role; the username."""
        self.client.session.cookie_jar.clear()
        name = await add_user(self.db, role, interface=interface)
        await login(self.client, name)
        self.csrf = csrf_of(await (await self.client.get("/")).text())
        return name

    async def post(self, path: str, body: object = None, raw: str | None = None) -> Any:
        """POST JSON (or raw text) with the CSRF header; (status, body)."""
        data = raw if raw is not None else _json(body)
        headers = {"X-CSRF-Token": self.csrf, "Content-Type": "application/json"}
        response = await self.client.post(path, data=data, headers=headers)
        return response.status, await response.json()

    async def listing(self) -> dict[str, Any]:
        """GET /api/callbacks."""
        response = await self.client.get("/api/callbacks")
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result


def _json(body: object) -> str:
    return json.dumps(body)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: these tests are about call backs, not the hash."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def clock(fresh_instant: Callable[[], datetime]) -> FakeClock:
    """This test's clock, on a day of its own."""
    return FakeClock(fresh_instant())


@pytest.fixture
async def console(
    aiohttp_client: Callable[..., Awaitable[Client]], db_sessionmaker: Sessions, clock: FakeClock
) -> AsyncIterator[Console]:
    """The console wired to the stand-in, with the test's clock."""
    ami = FakeAmi()
    telephony = Telephony(ami, AgentPresence("q", clock=utc_now))
    app = make_app(
        lambda: {},
        db=db_sessionmaker,
        settings=SETTINGS,
        policy=ConsolePolicy(),
        clock=clock,
        telephony=telephony,
    )
    yield Console(await aiohttp_client(app), ami, db_sessionmaker, clock)


def row(listing: Mapping[str, Any], call_id: int) -> dict[str, Any] | None:
    """The list's row whose latest miss is that call."""
    return next((r for r in listing["items"] if r["call_id"] == call_id), None)


async def _until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not check():  # noqa: ASYNC110 (the stand-in has no event to wait on)
            await asyncio.sleep(0.01)


def reported(attempt_id: int, status: str, talk: str = "") -> dict[str, str]:
    """The UserEvent the [callback] dialplan sends, as AMI delivers it."""
    return {
        "Event": "UserEvent",
        "UserEvent": "IvrCallback",
        "Attempt": str(attempt_id),
        "DialStatus": status,
        "Talk": talk,
        "Channel": f"{PHONE}-00000001",
    }


def handlers(db: Sessions, clock: FakeClock) -> CallbackEvents:
    """The AMI handler `ivr serve` registers, on this database."""
    services = Services(
        settings=SETTINGS, db=db, transcriber=MagicMock(), taxonomy=load_taxonomy(), clock=clock
    )
    return CallbackEvents(services)


def test_every_callback_route_is_for_agents_and_the_office() -> None:
    app = make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy())
    access = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None
    }
    for route in ROUTES:
        assert access[route] == frozenset({Role.AGENT, Role.OFFICE}), route


async def test_an_agent_calls_back_and_the_reported_result_takes_the_caller_off(
    console: Console, clock: FakeClock
) -> None:
    number = new_number()
    call_id = await abandoned(console.db, number, clock.now - timedelta(minutes=5), wait=33)
    agent = await console.as_(Role.AGENT, interface=PHONE)
    listed = row(await console.listing(), call_id)
    assert listed is not None and listed["caller_number"] == number
    assert (listed["gave_up"], listed["longest_wait_seconds"], listed["attempts"]) == (1, 33, 0)
    assert listed["case"]["id"] == await case_of(console.db, call_id)

    status, attempt = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    assert status == 200 and attempt["outcome"] == "placed" and attempt["in_progress"]
    sent = console.ami.sent[-1]
    assert (sent["Action"], sent["Channel"], sent["Context"], sent["Exten"]) == (
        "Originate",
        PHONE,
        "callback",
        "s",
    )
    assert sent["Variable"] == [
        f"IVR_CALLBACK_ID={attempt['id']}",
        f"IVR_CALLBACK_DIAL=Local/{number}@citizen-sim/n",
        "IVR_CALLBACK_RING=25",
    ]
    assert number not in sent["CallerID"] and console.ami.as_list is False
    listed = row(await console.listing(), call_id)
    assert listed is not None and listed["calling_agent"] == agent

    await handlers(console.db, clock).on_user_event(reported(attempt["id"], "ANSWER", "42"))
    after = await console.listing()
    assert row(after, call_id) is None, "reached: off the list"
    mine = next(a for a in after["recent"] if a["id"] == attempt["id"])
    assert (mine["outcome"], mine["on_list"], mine["editable"]) == ("reached", False, True)


async def test_a_second_click_while_the_call_back_is_on_is_refused(console: Console) -> None:
    """Bad input: a second 回拨 for the same caller, by another agent or the same one."""
    call_id = await abandoned(console.db, new_number(), console.clock.now)
    first = await console.as_(Role.AGENT, interface=PHONE)
    console.ami.ringing = asyncio.Event()  # the agent's phone is still ringing
    pending = asyncio.ensure_future(console.post("/api/callbacks/attempts", {"call_id": call_id}))
    await _until(lambda: bool(console.ami.sent))
    jar = aiohttp.CookieJar(unsafe=True)  # a second browser: its own session
    async with aiohttp.ClientSession(cookie_jar=jar) as other:
        name = await add_user(console.db, Role.AGENT, interface="PJSIP/8002")
        form = await (await other.get(console.client.make_url("/login"))).text()
        login_form = {"csrf_token": csrf_of(form), "username": name, "password": PASSWORD}
        await other.post(console.client.make_url("/login"), data=login_form)
        token = csrf_of(await (await other.get(console.client.make_url("/callbacks"))).text())
        refused = await other.post(
            console.client.make_url("/api/callbacks/attempts"),
            json={"call_id": call_id},
            headers={"X-CSRF-Token": token},
        )
        assert refused.status == 409 and first in (await refused.json())["error"]
    again = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    assert again[0] == 409 and "正在回拨" in again[1]["error"]
    console.ami.ringing.set()
    assert (await pending)[0] == 200
    assert len(console.ami.sent) == 1, "nobody was rung twice"


async def test_an_agents_phone_that_does_not_answer_fails_the_attempt(console: Console) -> None:
    call_id = await abandoned(console.db, new_number(), console.clock.now)
    await console.as_(Role.AGENT, interface=PHONE)
    console.ami.answer = False
    status, attempt = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    assert status == 200 and attempt["outcome"] == "failed" and not attempt["in_progress"]
    assert PHONE in attempt["message"]
    listed = row(await console.listing(), call_id)
    assert listed is not None and listed["last_attempt"]["outcome"] == "failed"
    console.ami.answer = True
    assert (await console.post("/api/callbacks/attempts", {"call_id": call_id}))[0] == 200


@pytest.mark.parametrize(
    ("raw", "status", "says"),
    [
        ("not json", 400, "JSON"),
        ("[1]", 400, "JSON"),
        ("{}", 400, "二者选一"),
        ('{"call_id": 1, "case_id": 2}', 400, "二者选一"),
        ('{"call_id": "12"}', 400, "正整数"),
        ('{"call_id": true}', 400, "正整数"),
        ('{"call_id": 0}', 400, "正整数"),
        ('{"call_id": 1000000000000}', 404, "来电"),
        ('{"call_id": 2000000000}', 404, "来电"),
        ('{"case_id": 2000000000}', 404, "工单"),
    ],
)
async def test_bad_bodies_are_refused_in_chinese(
    console: Console, raw: str, status: int, says: str
) -> None:
    """Bad input: what the 回拨 button never sends."""
    await console.as_(Role.AGENT, interface=PHONE)
    got, body = await console.post("/api/callbacks/attempts", raw=raw)
    assert got == status and says in body["error"]
    assert console.ami.sent == []


async def test_callers_who_cannot_or_need_not_be_called_back_are_refused(
    console: Console,
) -> None:
    """Bad input: a withheld number, a caller answered since."""
    withheld = await abandoned(console.db, "anonymous", console.clock.now)
    served = await answered(console.db, new_number(), console.clock.now)
    await console.as_(Role.AGENT, interface=PHONE)
    status, body = await console.post("/api/callbacks/attempts", {"call_id": withheld})
    assert status == 400 and "号码" in body["error"]
    status, body = await console.post("/api/callbacks/attempts", {"call_id": served})
    assert status == 409 and "不在回拨列表" in body["error"]
    assert console.ami.sent == []


async def test_no_phone_no_telephony_and_other_roles_are_refused(console: Console) -> None:
    """Bad input: an agent or the office without an interface, AMI down, other roles."""
    call_id = await abandoned(console.db, new_number(), console.clock.now)
    for role in (Role.AGENT, Role.OFFICE):
        await console.as_(role)
        status, body = await console.post("/api/callbacks/attempts", {"call_id": call_id})
        assert status == 409 and "坐席分机" in body["error"]
    await console.as_(Role.AGENT, interface=PHONE)
    console.ami.logged_in.clear()
    status, body = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    assert status == 503 and "电话系统" in body["error"]
    for role in (Role.DEPARTMENT, Role.LEADER):
        await console.as_(role)
        for path in ("/api/callbacks", "/callbacks"):
            assert (await console.client.get(path)).status == 403
        status, body = await console.post("/api/callbacks/attempts", {"call_id": call_id})
        assert status == 403 and "话务员" in body["error"]
    console.client.session.cookie_jar.clear()
    assert (await console.client.get("/api/callbacks")).status == 401
    assert console.ami.sent == []


async def test_a_console_without_telephony_answers_503(
    aiohttp_client: Callable[..., Awaitable[Client]], db_sessionmaker: Sessions, clock: FakeClock
) -> None:
    app = make_app(lambda: {}, db=db_sessionmaker, policy=ConsolePolicy(), clock=clock)
    client = await aiohttp_client(app)
    call_id = await abandoned(db_sessionmaker, new_number(), clock.now)
    await login(client, await add_user(db_sessionmaker, Role.AGENT, interface=PHONE))
    token = csrf_of(await (await client.get("/callbacks")).text())
    response = await client.post(
        "/api/callbacks/attempts", json={"call_id": call_id}, headers={"X-CSRF-Token": token}
    )
    assert response.status == 503


async def test_notes_and_done_by_the_agent_who_called_or_the_office(console: Console) -> None:
    """Bad input too: another agent's call back, a note that is not text, done while on."""
    call_id = await abandoned(console.db, new_number(), console.clock.now)
    await console.as_(Role.AGENT, interface=PHONE)
    _, attempt = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    path = f"/api/callbacks/attempts/{attempt['id']}/note"
    status, body = await console.post(path, {"done": True})
    assert status == 409 and "尚未结束" in body["error"]
    for bad, says in (({}, "备注"), ({"note": 5}, "文字"), ({"done": "yes"}, "true")):
        status, body = await console.post(path, bad)
        assert status == 400 and says in body["error"]
    status, body = await console.post(path, {"note": "长" * 2001})
    assert status == 400 and "2000" in body["error"]
    for missing in ("/api/callbacks/attempts/2000000000/note", "/api/callbacks/attempts/x/note"):
        assert (await console.post(missing, {"note": "x"}))[0] == 404
    status, body = await console.post(path, {"note": "市民说明天上午方便"})
    assert status == 200 and body["note"] == "市民说明天上午方便" and body["on_list"]
    await handlers(console.db, console.clock).on_user_event(reported(attempt["id"], "NOANSWER"))

    await console.as_(Role.AGENT, interface="PJSIP/8002")
    status, body = await console.post(path, {"note": "不是我打的"})
    assert status == 403 and "自己的回拨" in body["error"]
    await console.as_(Role.OFFICE)
    status, body = await console.post(path, {"done": True})
    assert status == 200 and not body["on_list"] and body["note"] == "市民说明天上午方便"
    assert row(await console.listing(), call_id) is None


async def test_a_reporters_number_is_masked_for_agents_who_do_not_hold_the_draft(
    console: Console,
) -> None:
    number = new_number()
    call_id = await abandoned(console.db, number, console.clock.now)
    case_id = await case_of(console.db, call_id)
    async with console.db.begin() as session:
        summary = f"举报工地夜间施工，我的电话 {number}"
        values = {"whistleblower": True, "summary": summary}
        await session.execute(update(Case).where(Case.id == case_id).values(**values))
    await console.as_(Role.AGENT, interface=PHONE)
    hidden = row(await console.listing(), call_id)
    assert hidden is not None and hidden["caller_number"] == "***" and hidden["identity_masked"]
    assert number not in str(hidden)
    status, attempt = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    assert status == 200 and attempt["caller_number"] == "***", "dialled from the call's id"
    assert number in console.ami.sent[-1]["Variable"][1], "the server still dials the number"
    await console.post(f"/api/callbacks/attempts/{attempt['id']}/note", {"note": f"回 {number}"})
    mine = next(a for a in (await console.listing())["recent"] if a["id"] == attempt["id"])
    assert number not in str(mine) and mine["note_redacted"]
    await console.as_(Role.OFFICE)
    shown = row(await console.listing(), call_id)
    assert shown is not None and shown["caller_number"] == number and number in shown["summary"]


async def test_the_page_is_for_agents_and_the_office(console: Console) -> None:
    await console.as_(Role.AGENT, interface=PHONE)
    page = await (await console.client.get("/callbacks")).text()
    assert "漏接回拨" in page and "/static/callbacks.js" in page and PHONE in page
    await console.as_(Role.OFFICE)
    page = await (await console.client.get("/callbacks")).text()
    assert "没有设置坐席分机" in page


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("ANSWER", "reached"),
        ("NOANSWER", "no_answer"),
        ("CANCEL", "no_answer"),
        ("BUSY", "busy"),
        ("CHANUNAVAIL", "failed"),
        ("CONGESTION", "failed"),
        ("", "failed"),
    ],
)
def test_dial_status_becomes_an_outcome(status: str, outcome: str) -> None:
    assert outcome_of(status) == outcome


async def test_other_user_events_and_unnumbered_reports_are_ignored(
    console: Console,
) -> None:
    """Bad input: a user event that is not ours, a report without an attempt id."""
    call_id = await abandoned(console.db, new_number(), console.clock.now)
    await console.as_(Role.AGENT, interface=PHONE)
    _, attempt = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    events = handlers(console.db, console.clock)
    await events.on_user_event(reported(attempt["id"], "ANSWER") | {"UserEvent": "Other"})
    for bad in ("", "x", "-1", "²"):
        await events.on_user_event(reported(attempt["id"], "ANSWER") | {"Attempt": bad})
    listed = row(await console.listing(), call_id)
    assert listed is not None and listed["last_attempt"]["outcome"] == "placed"
