"""The agent presence API and page through the real app factory, a real database and a small
stand-in for Asterisk's app_queue (the real one is in tests/test_presence_asterisk.py).

The stand-in answers queue actions the way Asterisk 22 does, errors included, and reports
each change as the member event app_queue sends; its QueueAdd reply never comes, like
panoramisk 1.4's, so the API must take the QueueMemberAdded event as the confirmation.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from unittest.mock import MagicMock

import pytest
from argon2 import PasswordHasher
from structlog.testing import capture_logs

from ivr.db import users
from ivr.db.models import Role
from ivr.errors import AmiError
from ivr.handlers.agent_presence import AgentPresence
from ivr.services import utc_now
from ivr.web import agent_page
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.presence import Telephony
from ivr.web.state import ConsolePolicy
from tests.test_web_console import Client, FakeClock, Sessions, add_user, csrf_of, login

QUEUE = "hotline-agents"
ME = "Local/8101@agents-sim/n"
REASONS = "break, after_call_work, training, meal"


class FakeAppQueue:
    """app_queue in miniature, behind an AMI-client-shaped `action`."""

    def __init__(self) -> None:
        self.presence = AgentPresence(QUEUE, clock=utc_now)
        self.logged_in = asyncio.Event()
        self.logged_in.set()
        self.members: dict[str, dict[str, str]] = {}
        self.sent: list[dict[str, Any]] = []
        self.refusal: str | None = None
        self.unanswered = 0  # replies panoramisk would have left pending forever

    async def action(
        self, fields: Mapping[str, Any], timeout: float = 10.0, *, as_list: bool | None = None
    ) -> Any:
        """Answer one action, after reporting its effect as app_queue's event."""
        self.sent.append(dict(fields))
        self.as_list = as_list
        if self.refusal:
            raise AmiError(f"AMI {fields['Action']} failed: {self.refusal}")
        return await getattr(self, fields["Action"].lower())(fields)

    async def queuestatus(self, fields: Mapping[str, str]) -> list[dict[str, str]]:
        """The members, as QueueStatus lists them (Name and Location)."""
        return [
            {"Event": "QueueMember", "Queue": QUEUE, "Location": where, "Name": m["MemberName"]}
            | {"Status": "1", "Paused": m["Paused"], "PausedReason": m["PausedReason"]}
            for where, m in self.members.items()
        ]

    async def queueadd(self, fields: Mapping[str, str]) -> dict[str, str]:
        """Add a member; like panoramisk 1.4, the reply is lost unless as_list=False."""
        if fields["Interface"] in self.members:
            raise AmiError("AMI QueueAdd failed: Unable to add interface: Already there")
        joined = {"MemberName": fields["MemberName"], "Paused": "0", "PausedReason": ""}
        await self.emit("QueueMemberAdded", fields["Interface"], **joined)
        if self.as_list is not False:
            self.unanswered += 1
            await asyncio.Event().wait()  # "Added interface to queue" taken for a list start
        return {"Response": "Success", "Message": "Added interface to queue"}

    async def queuepause(self, fields: Mapping[str, str]) -> dict[str, str]:
        """Pause or unpause a member."""
        if fields["Interface"] not in self.members:
            raise AmiError("AMI QueuePause failed: Interface not found")
        paused = fields["Paused"] == "true"
        reason = fields.get("Reason", "") if paused else ""
        await self.emit(
            "QueueMemberPause", fields["Interface"], Paused=str(int(paused)), PausedReason=reason
        )
        return {"Response": "Success", "Message": "Interface paused successfully"}

    async def queueremove(self, fields: Mapping[str, str]) -> dict[str, str]:
        """Remove a member."""
        if self.members.pop(fields["Interface"], None) is None:
            raise AmiError("AMI QueueRemove failed: Unable to remove interface: Not there")
        gone = {"Event": "QueueMemberRemoved", "Queue": QUEUE, "Interface": fields["Interface"]}
        await self.presence.on_member_removed(gone)
        return {"Response": "Success", "Message": "Removed interface from queue"}

    async def emit(self, name: str, interface: str, status: int = 1, **fields: str) -> None:
        """A member event, as app_queue sends it when the member changes."""
        member = self.members.setdefault(interface, {})
        member.update(fields)
        event = {"Event": name, "Queue": QUEUE, "Interface": interface, "Status": str(status)}
        await self.presence.on_member(event | member)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: these tests are about presence, not the hash."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
async def app_queue() -> FakeAppQueue:
    """The stand-in, with the map already rebuilt as after an AMI login."""
    fake = FakeAppQueue()
    await fake.presence.resync(fake)
    return fake


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Awaitable[Client]],
    db_sessionmaker: Sessions,
    fresh_instant: Callable[[], Any],
) -> Callable[..., Awaitable[Client]]:
    """Builds a console client on `telephony` (None: a console without Asterisk)."""

    async def build(telephony: Telephony | None) -> Client:
        clock = FakeClock(fresh_instant())
        app = make_app(
            lambda: {},
            db=db_sessionmaker,
            policy=ConsolePolicy(),
            clock=clock,
            telephony=telephony,
        )
        return await aiohttp_client(app)

    return build


@pytest.fixture
async def client(make_client: Callable[..., Awaitable[Client]], app_queue: FakeAppQueue) -> Client:
    """A console client wired to the stand-in."""
    return await make_client(Telephony(app_queue, app_queue.presence))


async def as_agent(
    client: Client, db: Sessions, interface: str | None = ME, role: Role = Role.AGENT
) -> tuple[str, dict[str, str]]:
    """Log in a new user; their username and the CSRF header their page carries."""
    name = await add_user(db, role, interface=interface)
    await login(client, name)
    token = csrf_of(await (await client.get("/")).text())
    return name, {"X-CSRF-Token": token}


async def post(client: Client, path: str, csrf: dict[str, str], **kwargs: Any) -> tuple[int, Any]:
    """POST to the API; the status and the JSON body."""
    response = await client.post(path, headers=csrf, **kwargs)
    return response.status, await response.json()


async def test_ready_pause_ready_leave_follow_asterisk(
    client: Client, db_sessionmaker: Sessions, app_queue: FakeAppQueue
) -> None:
    name, csrf = await as_agent(client, db_sessionmaker)
    with capture_logs() as logs:
        status, body = await post(client, "/api/agent/ready", csrf)
        assert (status, body["state"], body["asterisk_status"]) == (200, "ready", 1)
        assert app_queue.sent[-1] == {
            "Action": "QueueAdd",
            "Queue": QUEUE,
            "Interface": ME,
            "MemberName": name,
            "StateInterface": ME,
            "Paused": "false",
        }
        assert app_queue.unanswered == 0, "QueueAdd is sent as a single-reply action"
        status, body = await post(client, "/api/agent/pause", csrf, json={"reason": "meal"})
        assert (status, body["state"], body["reason"]) == (200, "paused", "meal")
        assert app_queue.sent[-1]["Reason"] == "meal"
        status, body = await post(client, "/api/agent/ready", csrf)
        assert body["state"] == "ready" and app_queue.sent[-1]["Action"] == "QueuePause"
        assert app_queue.sent[-1]["Paused"] == "false", "a member is unpaused, not re-added"
        status, body = await post(client, "/api/agent/logout-queue", csrf)
        assert (status, body["state"], body["reason"]) == (200, "logged_out", None)
    actions = [(e["event"], e["username"]) for e in logs if e.get("interface") == ME]
    actions = [a for a in actions if a[0] != "agent_state_changed"]
    assert actions == [
        ("agent_ready", name),
        ("agent_paused", name),
        ("agent_ready", name),
        ("agent_left_queue", name),
    ]


async def test_state_is_what_asterisk_reports_not_what_was_pressed(
    client: Client, db_sessionmaker: Sessions, app_queue: FakeAppQueue
) -> None:
    _, csrf = await as_agent(client, db_sessionmaker)
    await post(client, "/api/agent/ready", csrf)
    # a supervisor pauses the agent from the Asterisk CLI; then a call rings the phone
    await app_queue.emit("QueueMemberPause", ME, Paused="1", PausedReason="training")
    state = await (await client.get("/api/agent/state")).json()
    assert (state["state"], state["reason"], state["paused"]) == ("paused", "training", True)
    await app_queue.emit("QueueMemberStatus", ME, status=6, Paused="0", PausedReason="")
    state = await (await client.get("/api/agent/state")).json()
    assert (state["state"], state["asterisk_status"]) == ("ringing", 6)
    assert state["since"].endswith("+00:00")


async def test_ready_when_asterisk_has_a_member_the_map_missed_unpauses_it(
    client: Client, db_sessionmaker: Sessions, app_queue: FakeAppQueue
) -> None:
    _, csrf = await as_agent(client, db_sessionmaker)
    app_queue.members[ME] = {"MemberName": "x", "Paused": "1", "PausedReason": "meal"}
    status, body = await post(client, "/api/agent/ready", csrf)
    assert (status, body["state"]) == (200, "ready")
    assert [a["Action"] for a in app_queue.sent[-2:]] == ["QueueAdd", "QueuePause"]


async def test_unknown_or_missing_pause_reason_is_400_naming_the_allowed_ones(
    client: Client, db_sessionmaker: Sessions, app_queue: FakeAppQueue
) -> None:
    """Bad input: an unknown reason, none, a list, a number, a body that is not JSON."""
    _, csrf = await as_agent(client, db_sessionmaker)
    await post(client, "/api/agent/ready", csrf)
    sent = len(app_queue.sent)
    for kwargs in (
        {"json": {"reason": "nap"}},
        {"json": {}},
        {"json": ["break"]},
        {"json": {"reason": 1}},
    ):
        status, body = await post(client, "/api/agent/pause", csrf, **kwargs)
        assert status == 400 and REASONS in body["error"], kwargs
    status, body = await post(client, "/api/agent/pause", csrf, data=b"break")
    assert status == 400 and "JSON" in body["error"]
    assert len(app_queue.sent) == sent, "nothing reached Asterisk"


async def test_agent_without_an_interface_gets_409(
    client: Client, db_sessionmaker: Sessions, app_queue: FakeAppQueue
) -> None:
    _, csrf = await as_agent(client, db_sessionmaker, interface=None)
    for path in ("/api/agent/ready", "/api/agent/logout-queue"):
        status, body = await post(client, path, csrf)
        assert status == 409 and "interface" in body["error"]
    state = await client.get("/api/agent/state")
    assert state.status == 409
    page = await (await client.get("/agent")).text()
    assert "未配置坐席分机" in page and 'id="presence-ready"' not in page
    assert app_queue.sent == [{"Action": "QueueStatus", "Queue": QUEUE}]


async def test_pause_outside_the_queue_is_409_and_leaving_twice_is_fine(
    client: Client, db_sessionmaker: Sessions, app_queue: FakeAppQueue
) -> None:
    _, csrf = await as_agent(client, db_sessionmaker)
    status, body = await post(client, "/api/agent/pause", csrf, json={"reason": "break"})
    assert status == 409 and "Ready" in body["error"]
    status, body = await post(client, "/api/agent/logout-queue", csrf)
    assert (status, body["state"]) == (200, "logged_out")
    assert len(app_queue.sent) == 1, "only the resync's QueueStatus"


async def test_telephony_down_is_503_and_nothing_is_pretended(
    make_client: Callable[..., Awaitable[Client]],
    db_sessionmaker: Sessions,
    app_queue: FakeAppQueue,
) -> None:
    """AMI logged out; a map not yet rebuilt after login; a console with no Asterisk."""
    unsynced = FakeAppQueue()
    cases = [
        Telephony(app_queue, app_queue.presence),
        Telephony(unsynced, unsynced.presence),
        None,
    ]
    app_queue.logged_in.clear()
    for telephony in cases:
        client = await make_client(telephony)
        _, csrf = await as_agent(client, db_sessionmaker)
        answers = [await post(client, "/api/agent/ready", csrf)]
        answers.append(await post(client, "/api/agent/pause", csrf, json={"reason": "break"}))
        answers.append(await post(client, "/api/agent/logout-queue", csrf))
        state = await client.get("/api/agent/state")
        answers.append((state.status, await state.json()))
        assert answers == [(503, {"error": "telephony unavailable"})] * 4, telephony
    assert len(app_queue.sent) == 1 and unsynced.sent == []


async def test_asterisk_refusing_an_action_is_502_and_logged(
    client: Client, db_sessionmaker: Sessions, app_queue: FakeAppQueue
) -> None:
    name, csrf = await as_agent(client, db_sessionmaker)
    app_queue.refusal = "Permission denied"
    with capture_logs() as logs:
        status, body = await post(client, "/api/agent/ready", csrf)
    assert status == 502 and "Permission denied" in body["error"]
    failed = [e for e in logs if e["event"] == "agent_queue_action_failed"]
    assert failed and failed[0]["username"] == name


@pytest.mark.parametrize("role", [Role.OFFICE, Role.DEPARTMENT, Role.LEADER])
async def test_other_roles_get_403(
    client: Client, db_sessionmaker: Sessions, app_queue: FakeAppQueue, role: Role
) -> None:
    _, csrf = await as_agent(client, db_sessionmaker, interface=None, role=role)
    for path in ("/api/agent/ready", "/api/agent/logout-queue"):
        assert (await post(client, path, csrf))[0] == 403
    assert (await client.get("/api/agent/state")).status == 403
    assert len(app_queue.sent) == 1


async def test_posts_without_the_csrf_token_are_403(
    client: Client, db_sessionmaker: Sessions, app_queue: FakeAppQueue
) -> None:
    """Bad input: no token, a forged header, the token inside the JSON body."""
    _, csrf = await as_agent(client, db_sessionmaker)
    attempts: list[dict[str, Any]] = [
        {},
        {"headers": {"X-CSRF-Token": "forged"}},
        {"json": {"reason": "break", "csrf_token": csrf["X-CSRF-Token"]}},
    ]
    for path in ("/api/agent/ready", "/api/agent/pause", "/api/agent/logout-queue"):
        for attempt in attempts:
            response = await client.post(path, **attempt)
            assert response.status == 403, (path, attempt)
            assert "CSRF" in (await response.json())["error"]
    assert len(app_queue.sent) == 1


async def test_agent_page_has_the_buttons_and_only_an_external_script(
    client: Client, db_sessionmaker: Sessions
) -> None:
    _, csrf = await as_agent(client, db_sessionmaker)
    page = await (await client.get("/agent")).text()
    assert 'id="presence-ready"' in page and 'id="presence-leave"' in page
    panel = page[page.index('<section id="presence"') :]
    panel = panel[: panel.index("</section>")]
    assert re.findall(r'<option value="([a-z_]+)">', panel) == REASONS.split(", ")
    assert f'<meta name="csrf-token" content="{csrf["X-CSRF-Token"]}">' in page
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == [f'<script src="/static/{name}" defer>' for name in agent_page.SCRIPTS]
    script = await client.get("/static/agent.js")
    assert script.status == 200 and script.content_type == "text/javascript"
    text = await script.text()
    assert "X-CSRF-Token" in text and "/api/agent/state" in text and "2000" in text


def test_presence_routes_say_who_may_use_them() -> None:
    app = make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy())
    access = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None
    }
    agent_only = frozenset({Role.AGENT})
    for path in ("/api/agent/ready", "/api/agent/pause", "/api/agent/logout-queue"):
        assert access["POST", path] == agent_only
    assert access["GET", "/api/agent/state"] == agent_only
    assert access["GET", "/static/{name}"] == "public"
