"""Screen-pop test fixtures: callers in the queue and app_queue's events about them fed to the
real handlers (QueueCalls), a console client on the same bus (Desk), and its pop feed.

The events are shaped as Asterisk 22 sends them (AgentCalled carries the caller channel's
variables as ChanVariable lines); the handlers, the database and the socket are the real ones.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from unittest.mock import MagicMock

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from ivr.cases.taxonomy import load_taxonomy
from ivr.db import calls, cases
from ivr.db.models import Role
from ivr.handlers.screen_pop import ScreenPopHandlers, case_changed_notifier
from ivr.services import Services
from ivr.settings import Settings
from ivr.web.app import make_app
from ivr.web.pop_bus import PopBus
from ivr.web.state import ConsolePolicy
from tests.test_web_console import FakeClock, Sessions, add_user, csrf_of, login

Client = TestClient[Any, Any]
QUEUE = "hotline-agents"
INTERFACE = "Local/8101@agents-sim/n"


class QueueCalls:
    """Callers in the queue and app_queue's events about them, fed to the real handlers."""

    def __init__(self, db: Sessions, bus: PopBus, clock: FakeClock) -> None:
        self.db = db
        self.handlers = ScreenPopHandlers(
            Services(
                settings=Settings(),
                db=db,
                transcriber=MagicMock(),
                taxonomy=load_taxonomy(),
                clock=clock,
            ),
            bus,
        )
        self.case_changed = case_changed_notifier(db, bus)

    async def call_with_draft(self, caller: str = "13800001111", **fields: Any) -> tuple[str, int]:
        """A caller waiting in the queue with an IVR draft: (uniqueid, case id)."""
        uniqueid = f"{uuid.uuid4().int % 10**10}.1"
        draft = dict(transcript="路灯坏了", transcript_available=True, category="urban")
        draft |= dict(department="市城管执法局", priority="normal", summary="路灯坏了")
        draft |= dict(address=None, contact_phone=None) | fields
        case_id = await cases.create_draft(
            self.db, call_uniqueid=uniqueid, caller_number=caller, **draft
        )
        now = self.handlers.services.clock()
        await calls.record_queue_join(self.db, uniqueid, at=now, queue=QUEUE)
        return uniqueid, case_id

    async def ring(self, uniqueid: str, case_id: int | None, username: str, **extra: str) -> None:
        """AgentCalled for `username`'s interface, as app_queue sends it."""
        event = {"Event": "AgentCalled", "Queue": QUEUE, "Uniqueid": uniqueid}
        event |= {"MemberName": username, "Interface": INTERFACE, "CallerIDNum": "13800001111"}
        if case_id is not None:
            event["ChanVariable"] = [f"IVR_CASE_ID={case_id}", "IVR_FALLBACK="]  # type: ignore[assignment]
        await self.handlers.on_agent_called(event | extra)

    async def event(self, name: str, uniqueid: str, username: str) -> None:
        """A follow-up queue event for the same call and member."""
        event = {"Event": name, "Queue": QUEUE, "Uniqueid": uniqueid}
        event |= {"MemberName": username, "Interface": INTERFACE}
        handler = {
            "AgentConnect": self.handlers.on_agent_connect,
            "AgentRingNoAnswer": self.handlers.on_ring_no_answer,
        }.get(name, self.handlers.on_call_over)
        await handler(event)


class Desk(QueueCalls):
    """A console app's test client, with the handlers on the app's bus."""

    def __init__(self, client: Client, db: Sessions, bus: PopBus, clock: FakeClock) -> None:
        super().__init__(db, bus, clock)
        self.client = client


@pytest.fixture
def pop_clock(fresh_instant: Callable[[], Any]) -> FakeClock:
    """This test's clock."""
    return FakeClock(fresh_instant())


@pytest.fixture
async def desk(
    aiohttp_client: Callable[..., Awaitable[Client]],
    db_sessionmaker: Sessions,
    pop_clock: FakeClock,
) -> Desk:
    """The console and the handlers on one bus."""
    bus = PopBus()
    app = make_app(lambda: {}, db=db_sessionmaker, policy=ConsolePolicy(), clock=pop_clock, bus=bus)
    return Desk(await aiohttp_client(app), db_sessionmaker, bus, pop_clock)


async def agent(desk: Desk, role: Role = Role.AGENT) -> tuple[str, str]:
    """A new logged-in user on the desk's client: (username, CSRF token)."""
    name = await add_user(desk.db, role, interface=INTERFACE if role is Role.AGENT else None)
    desk.client.session.cookie_jar.clear()
    answer = await login(desk.client, name)
    assert answer.status == 303
    page = await desk.client.get("/")
    return name, csrf_of(await page.text())


@pytest.fixture
async def feed(
    desk: Desk,
) -> AsyncIterator[Callable[..., Awaitable[aiohttp.ClientWebSocketResponse]]]:
    """Opens the pop feed as the browser would (same Origin); closes them afterwards."""
    opened: list[aiohttp.ClientWebSocketResponse] = []

    async def connect(origin: str | None = None) -> aiohttp.ClientWebSocketResponse:
        base = desk.client.make_url("/")
        headers = {"Origin": origin or f"{base.scheme}://{base.host}:{base.port}"}
        ws = await desk.client.ws_connect("/ws/agent", headers=headers)
        opened.append(ws)
        return ws

    yield connect
    for ws in opened:
        await ws.close()


async def next_message(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    """The next message of a kind (skipping others), within 5 s."""
    while True:
        message: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), 5)
        if message["type"] == kind:
            return message
