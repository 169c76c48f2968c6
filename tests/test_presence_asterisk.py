"""Agent presence against the real Asterisk 22 and the real ivr runtime, over real HTTP.

An agent logs in to the running console, goes ready, pauses and leaves; Asterisk's own
`queue show` must agree at each step, and the console must report what Asterisk says,
including changes made behind the console's back and after the ivr process restarts.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from ivr.ami.client import AmiClient
from ivr.app import IvrRuntime
from ivr.asterisk import runner
from ivr.db import users
from ivr.handlers.agent_presence import AgentPresence
from ivr.services import utc_now
from ivr.sim.calls import CallScript
from tests.stack import Citizens, eventually

pytestmark = pytest.mark.asterisk

INTERFACE = "Local/8101@agents-sim/n"  # [agents-sim] answers _8XXX
PASSWORD = "presence test password"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    """An agent's browser session on the runtime's console."""

    def __init__(self, http: aiohttp.ClientSession, base: str, username: str) -> None:
        self.http = http
        self.base = base
        self.username = username
        self.csrf = ""

    async def login(self) -> None:
        """Log in through the form, then keep the page's CSRF token."""
        form = await (await self.http.get(f"{self.base}/login")).text()
        data = {"username": self.username, "password": PASSWORD}
        data["csrf_token"] = _csrf(form)
        page = await self.http.post(f"{self.base}/login", data=data)
        assert page.status == 200 and page.url.path == "/agent"
        self.csrf = _csrf(await page.text())

    async def post(self, path: str, body: dict[str, str] | None = None) -> dict[str, Any]:
        """A state change; the state the API answers with."""
        headers = {"X-CSRF-Token": self.csrf}
        async with self.http.post(f"{self.base}{path}", json=body, headers=headers) as response:
            answer: dict[str, Any] = await response.json()
            assert response.status == 200, answer
            return answer

    async def state(self) -> dict[str, Any]:
        """GET /api/agent/state."""
        async with self.http.get(f"{self.base}/api/agent/state") as response:
            answer: dict[str, Any] = await response.json()
            assert response.status == 200, answer
            return answer


def _csrf(page: str) -> str:
    found = CSRF_FIELD.search(page)
    assert found is not None
    return found.group(1)


@pytest.fixture
async def console(runtime: IvrRuntime) -> AsyncIterator[Console]:
    """A new agent on INTERFACE, logged in; out of the queue again afterwards."""
    assert runtime.services is not None and runtime.presence is not None
    name = f"agent-{uuid.uuid4().hex[:8]}"
    await users.create_user(runtime.services.db, name, PASSWORD, "agent", interface=INTERFACE)
    presence = runtime.presence

    async def synced() -> bool:
        return presence.synced

    await eventually(synced, 30, "the presence map rebuilt after the AMI login")
    s = runtime.settings
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1, an IP address
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        agent = Console(http, f"http://{s.web_host}:{s.web_port}", name)
        await agent.login()
        try:
            yield agent
        finally:
            await agent.post("/api/agent/logout-queue")


async def queue_show(runtime: IvrRuntime) -> str:
    """What Asterisk's CLI says about the queue (off the loop: the runtime shares it)."""
    command = f"queue show {runtime.settings.queue_name}"
    return await asyncio.to_thread(runner.remote_command, runtime.settings, command)


def member_line(shown: str, username: str) -> str | None:
    """The `queue show` line of a member, if it is listed."""
    return next((line for line in shown.splitlines() if username in line), None)


async def test_ready_pause_leave_as_asterisk_shows_them(
    runtime: IvrRuntime, console: Console
) -> None:
    answer = await console.post("/api/agent/ready")
    assert answer["state"] == "ready" and answer["asterisk_status"] == 1
    line = member_line(await queue_show(runtime), console.username)
    assert line is not None and INTERFACE in line and "paused" not in line
    assert (await console.state())["state"] == "ready"

    answer = await console.post("/api/agent/pause", {"reason": "after_call_work"})
    assert (answer["state"], answer["reason"]) == ("paused", "after_call_work")
    line = member_line(await queue_show(runtime), console.username)
    assert line is not None and "paused:after_call_work" in line
    state = await console.state()
    assert (state["state"], state["reason"], state["paused"]) == ("paused", "after_call_work", True)

    answer = await console.post("/api/agent/ready")
    assert answer["state"] == "ready" and not answer["paused"]
    answer = await console.post("/api/agent/logout-queue")
    assert answer["state"] == "logged_out"
    assert member_line(await queue_show(runtime), console.username) is None
    assert (await console.state())["state"] == "logged_out"


async def test_a_pause_made_outside_the_console_is_what_the_console_shows(
    runtime: IvrRuntime, citizens: Citizens, console: Console
) -> None:
    await console.post("/api/agent/ready")
    # a supervisor's tool pauses the agent over its own AMI connection
    await citizens.ami.action(_pause(runtime, INTERFACE, paused=True, reason="training"))

    async def paused() -> bool:
        state = await console.state()
        return (state["state"], state["reason"]) == ("paused", "training")

    await eventually(paused, 5, "the console showing Asterisk's pause")


async def test_a_restarted_ivr_process_rebuilds_the_state_from_asterisk(
    runtime: IvrRuntime, console: Console
) -> None:
    await console.post("/api/agent/ready")
    await console.post("/api/agent/pause", {"reason": "meal"})
    fresh = AgentPresence(runtime.settings.queue_name, clock=utc_now)  # knows nothing yet
    ami = AmiClient.from_settings(runtime.settings)
    fresh.register(ami)
    await ami.start()
    try:

        async def synced() -> bool:
            return fresh.synced

        await eventually(synced, 30, "a new process's map rebuilt from QueueStatus")
    finally:
        await ami.close()
    view = fresh.current(INTERFACE)
    assert (view.state, view.reason) == ("paused", "meal")
    static = fresh.current("Local/8001@agents-sim/n")
    assert static.state != "logged_out", "the simulated agents are members too"


async def test_a_call_rings_then_connects_the_only_ready_agent(
    runtime: IvrRuntime, citizens: Citizens, console: Console
) -> None:
    await console.post("/api/agent/ready")
    sims = [f"Local/{8001 + i}@agents-sim/n" for i in range(runtime.settings.sim_agents)]
    for sim in sims:
        await citizens.ami.action(_pause(runtime, sim, paused=True, reason="test"))
    try:
        with capture_logs() as logs:
            call = await citizens.sim.place(CallScript(keys="0", delay_seconds=0.5))

            async def on_call() -> bool:
                return (await console.state())["state"] == "on_call"

            await eventually(on_call, 30, "the agent on the call")
            await citizens.sim.wait_ended(call, 60)

            async def ready_again() -> bool:
                return (await console.state())["state"] == "ready"

            await eventually(ready_again, 15, "the agent ready after the call")
    finally:
        for sim in sims:
            await citizens.ami.action(_pause(runtime, sim, paused=False))
    connected = citizens.events_for(call.uniqueid, "AgentConnect")
    assert connected and connected[0]["MemberName"] == console.username
    seen = [
        e["state"]
        for e in logs
        if e["event"] == "agent_state_changed" and e["interface"] == INTERFACE
    ]
    assert seen == ["ringing", "on_call", "ready"], seen


def _pause(
    runtime: IvrRuntime, interface: str, *, paused: bool, reason: str = ""
) -> dict[str, str]:
    fields = {"Action": "QueuePause", "Queue": runtime.settings.queue_name}
    fields |= {"Interface": interface, "Paused": str(paused).lower()}
    return fields | ({"Reason": reason} if reason else {})
