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
from tests.test_callback_list import abandoned, answered, case_of, drafted_call
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
    """Originate answered by the agent's phone, refused, held ringing until `ringing` is set,
    or never answered (`no_reply`: as the real client reports a timeout or a lost link)."""

    def __init__(self) -> None:
        self.logged_in = asyncio.Event()
        self.logged_in.set()
        self.sent: list[dict[str, Any]] = []
        self.as_list: bool | None = None
        self.answer = True
        self.no_reply = False
        self.link_drops = False
        self.ringing: asyncio.Event | None = None

    async def action(
        self, fields: Mapping[str, Any], timeout: float = 10, *, as_list: bool | None = None
    ) -> Any:
        self.sent.append(dict(fields))
        self.as_list = as_list
        if self.ringing is not None:
            await self.ringing.wait()
        if self.link_drops:
            self.logged_in.clear()
        if self.no_reply:
            waited = TimeoutError()
            raise AmiError(f"AMI Originate got no reply in {timeout} s") from waited
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
    assert number not in sent["CallerID"]
    # asynchronous: the manager session (and its pings) is not held while phones ring
    assert sent["Async"] == "true" and console.ami.as_list is None
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


async def as_report(db: Sessions, case_id: int, **values: object) -> None:
    """Make the case a report (检举/举报), with these other values."""
    async with db.begin() as session:
        changes = {"whistleblower": True, **values}
        await session.execute(update(Case).where(Case.id == case_id).values(**changes))


def ids_in(listing: Mapping[str, Any]) -> tuple[set[int], set[int]]:
    """Every call id and every case id a listing shows."""
    calls, cases = set(), set()
    attempts = [*listing["recent"], *(item["last_attempt"] for item in listing["items"])]
    for item in [*listing["items"], *filter(None, attempts)]:
        calls.add(item["call_id"])
        cases |= {item["case_id"], (item.get("case") or {}).get("id")}
        calls |= {miss["call_id"] for miss in item.get("misses", ())}
    return calls - {None}, cases - {None}


async def test_a_number_with_a_report_and_an_ordinary_draft_is_masked_everywhere(
    console: Console,
) -> None:
    """A reporter's later ordinary call must not lead agents to the report, nor back."""
    now, number = console.clock.now, new_number()
    report_call, report_id = await drafted_call(console.db, number, now - timedelta(days=1))
    summary = "举报工地夜间施工"
    values = {"status": "registered", "needs_callback": True, "summary": summary}
    await as_report(console.db, report_id, **values)
    call_id = await abandoned(console.db, number, now - timedelta(minutes=5))
    draft_id = await case_of(console.db, call_id)
    async with console.db.begin() as session:  # the name given on the ordinary call
        named = update(Case).where(Case.id == draft_id).values(caller_name="钱某某")
        await session.execute(named)
    served = await answered(console.db, new_number(), now - timedelta(minutes=5))
    await console.as_(Role.AGENT, interface=PHONE)
    listing = await console.listing()
    calls, cases = ids_in(listing)
    assert number not in str(listing) and draft_id not in cases
    assert not {call_id, report_call} & calls
    masked = next(item for item in listing["items"] if item["case_id"] == report_id)
    assert masked["caller_number"] == "***" and masked["identity_masked"]
    assert masked["summary"] == summary and masked["case"]["whistleblower"]
    assert [m["kind"] for m in masked["misses"]] == ["requested"], "the report's only"
    assert masked["gave_up"] == 0 and masked["longest_wait_seconds"] is None
    _, unlisted = await console.post("/api/callbacks/attempts", {"call_id": served})
    for target in ({"call_id": call_id}, {"case_id": draft_id}, {"call_id": report_call}):
        refused = await console.post("/api/callbacks/attempts", target)
        assert refused == (409, unlisted), "refused as any number not on the list is"
    assert console.ami.sent == []

    status, attempt = await console.post("/api/callbacks/attempts", {"case_id": report_id})
    assert status == 200 and attempt["caller_number"] == "***" and attempt["identity_masked"]
    assert (attempt["call_id"], attempt["case_id"]) == (None, None)
    assert number in console.ami.sent[-1]["Variable"][1], "the server still dials the number"
    await console.post(f"/api/callbacks/attempts/{attempt['id']}/note", {"note": "钱某某约好明天"})
    await console.as_(Role.AGENT, interface="PJSIP/8002")
    listing = await console.listing()
    calls, cases = ids_in(listing)
    assert number not in str(listing) and draft_id not in cases
    assert not {call_id, report_call} & calls
    mine = next(a for a in listing["recent"] if a["id"] == attempt["id"])
    assert mine["caller_number"] == "***" and mine["note"] == "***约好明天"

    await console.as_(Role.OFFICE)
    listing = await console.listing()
    shown = row(listing, call_id)
    assert shown is not None and shown["caller_number"] == number
    assert shown["case_id"] == draft_id and not shown["identity_masked"]
    mine = next(a for a in listing["recent"] if a["id"] == attempt["id"])
    assert (mine["caller_number"], mine["case_id"]) == (number, draft_id)


async def test_a_report_draft_is_masked_but_for_the_office_and_the_agent_holding_it(
    console: Console,
) -> None:
    number = new_number()
    call_id = await abandoned(console.db, number, console.clock.now)
    case_id = await case_of(console.db, call_id)
    await as_report(console.db, case_id, summary=f"举报工地夜间施工，我的电话 {number}")
    await console.as_(Role.AGENT, interface=PHONE)
    listing = await console.listing()
    hidden = next(item for item in listing["items"] if item["case_id"] == case_id)
    assert hidden["caller_number"] == "***" and hidden["identity_masked"]
    assert number not in str(listing) and call_id not in ids_in(listing)[0]
    status, attempt = await console.post("/api/callbacks/attempts", {"case_id": case_id})
    assert status == 200 and attempt["caller_number"] == "***"
    assert number in console.ami.sent[-1]["Variable"][1]
    await console.post(f"/api/callbacks/attempts/{attempt['id']}/note", {"note": f"回 {number}"})
    mine = next(a for a in (await console.listing())["recent"] if a["id"] == attempt["id"])
    assert number not in str(mine) and mine["note_redacted"]
    await handlers(console.db, console.clock).on_user_event(reported(attempt["id"], "BUSY"))

    holder = await console.as_(Role.AGENT, interface="PJSIP/8002")
    async with console.db.begin() as session:
        await session.execute(update(Case).where(Case.id == case_id).values(claimed_by=holder))
    shown = row(await console.listing(), call_id)
    assert shown is not None and shown["caller_number"] == number, "they speak with the caller"
    await console.as_(Role.OFFICE)
    shown = row(await console.listing(), call_id)
    assert shown is not None and shown["caller_number"] == number and number in shown["summary"]


async def test_a_reporters_name_never_reaches_other_agents(console: Console) -> None:
    number, contact = new_number(), new_number()
    call_id = await abandoned(console.db, number, console.clock.now)
    case_id = await case_of(console.db, call_id)
    summary = f"我叫赵某某，举报工地夜间施工，回电 {contact}"
    values = {"caller_name": "赵某某", "contact_phone": contact, "summary": summary}
    await as_report(console.db, case_id, **values)
    await console.as_(Role.AGENT, interface=PHONE)
    listing = await console.listing()
    assert "赵某某" not in str(listing) and contact not in str(listing)
    assert number not in str(listing)
    masked = next(item for item in listing["items"] if item["case_id"] == case_id)
    assert "举报工地夜间施工" in masked["summary"], "the substance stays"


async def test_a_masked_call_back_note_hides_the_reporters_name(console: Console) -> None:
    """The agent who held the draft called back; once it is registered they see it masked."""
    number, contact = new_number(), new_number()
    call_id = await abandoned(console.db, number, console.clock.now)
    case_id = await case_of(console.db, call_id)
    holder = await console.as_(Role.AGENT, interface=PHONE)
    values = {"caller_name": "赵某某", "contact_phone": contact, "claimed_by": holder}
    await as_report(console.db, case_id, **values)
    status, attempt = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    assert status == 200 and attempt["caller_number"] == number
    await as_report(console.db, case_id, status="registered", claimed_by=None)
    note = f"赵某某说明天上午方便，打 {contact}"
    path = f"/api/callbacks/attempts/{attempt['id']}/note"
    status, body = await console.post(path, {"note": note})
    assert status == 200 and body["note_redacted"] and body["caller_number"] == "***"
    assert "赵某某" not in str(body) and contact not in str(body) and number not in str(body)


async def test_an_originate_without_a_reply_leaves_the_result_to_asterisk(
    console: Console, clock: FakeClock
) -> None:
    """Our timeout is not the call's end: the dialplan's report still decides."""
    call_id = await abandoned(console.db, new_number(), clock.now)
    agent = await console.as_(Role.AGENT, interface=PHONE)
    console.ami.no_reply = True
    status, attempt = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    assert status == 200 and attempt["outcome"] == "placed" and attempt["in_progress"]
    assert attempt["result_pending"] and "待定" in attempt["message"]
    listed = row(await console.listing(), call_id)
    assert listed is not None and listed["calling_agent"] == agent
    await handlers(console.db, clock).on_user_event(reported(attempt["id"], "ANSWER", "30"))
    after = await console.listing()
    assert row(after, call_id) is None, "reached: off the list"
    mine = next(a for a in after["recent"] if a["id"] == attempt["id"])
    assert mine["outcome"] == "reached"


async def test_a_link_lost_while_the_agents_phone_rings_leaves_the_result_pending(
    console: Console, clock: FakeClock
) -> None:
    call_id = await abandoned(console.db, new_number(), clock.now)
    await console.as_(Role.AGENT, interface=PHONE)
    console.ami.no_reply = console.ami.link_drops = True
    status, attempt = await console.post("/api/callbacks/attempts", {"call_id": call_id})
    assert status == 200 and attempt["outcome"] == "placed" and attempt["result_pending"]
    await handlers(console.db, clock).on_user_event(reported(attempt["id"], "NOANSWER"))
    listed = row(await console.listing(), call_id)
    assert listed is not None and listed["last_attempt"]["outcome"] == "no_answer"


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
