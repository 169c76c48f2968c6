"""AMI client against a fake manager over a real socket: half-open links, restarts, order."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from structlog.testing import capture_logs

from ivr.ami.client import AmiClient, Event
from ivr.errors import AmiError

PING = 0.3


class FakeManager:
    """Speaks just enough AMI: banner, Login, Ping; can go silent or drop the link."""

    def __init__(self) -> None:
        self.logins = 0
        self.answer_pings = True
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def send_event(self, **fields: str) -> None:
        body = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
        self.writers[-1].write(body.encode() + b"\r\n")

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0\r\n")
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                block = await reader.readuntil(b"\r\n\r\n")
                self._answer(writer, _parse(block))

    def _answer(self, writer: asyncio.StreamWriter, action: dict[str, str]) -> None:
        name, action_id = action.get("Action", "").lower(), action.get("ActionID", "")
        if name == "login":
            self.logins += 1
            reply = "Response: Success\r\nMessage: Authentication accepted\r\n"
        elif name == "ping" and self.answer_pings:
            reply = "Response: Success\r\nPing: Pong\r\n"
        elif name == "queueadd":
            reply = "Response: Success\r\nMessage: Added interface to queue\r\n"
        elif name == "queuepause":
            reply = "Response: Error\r\nMessage: Interface not found\r\n"
        else:
            return
        writer.write(f"{reply}ActionID: {action_id}\r\n\r\n".encode())


def _parse(block: bytes) -> dict[str, str]:
    lines = block.decode().strip().split("\r\n")
    return dict(line.split(": ", 1) for line in lines if ": " in line)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeManager, AmiClient]]:
    manager = FakeManager()
    port = await manager.start()
    client = AmiClient(
        host="127.0.0.1", port=port, username="ivr", secret="s3cret", ping_interval=PING
    )
    await client.start()
    await client.wait_logged_in(5)
    yield manager, client
    await client.close()
    await manager.stop()


async def _wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_half_open_link_is_noticed_within_two_pings(
    fake: tuple[FakeManager, AmiClient],
) -> None:
    manager, client = fake
    with capture_logs() as logs:
        manager.answer_pings = False  # the peer stops answering without closing
        silent_since = time.monotonic()
        await _wait_for(lambda: any(e["event"] == "ami_half_open" for e in logs), 3)
        noticed_after = time.monotonic() - silent_since
        manager.answer_pings = True
        await _wait_for(lambda: manager.logins == 2, 5)  # reconnected and logged in again
    # two ping intervals, plus scheduling slack for a busy 2-core machine
    assert noticed_after <= 2 * PING + 0.3
    await client.wait_logged_in(2)


async def test_reconnects_after_asterisk_restart(fake: tuple[FakeManager, AmiClient]) -> None:
    manager, client = fake
    manager.writers[-1].close()  # Asterisk went away
    await _wait_for(lambda: not client.logged_in.is_set(), 2)
    await _wait_for(lambda: manager.logins == 2, 5)
    await client.wait_logged_in(2)


async def test_events_are_handled_one_at_a_time_in_order(
    fake: tuple[FakeManager, AmiClient],
) -> None:
    manager, client = fake
    seen: list[str] = []

    async def slow_handler(event: Event) -> None:
        await asyncio.sleep(0.02 if event["Seq"] == "1" else 0)  # the first is slowest
        seen.append(event["Seq"])

    client.on("AgentConnect", slow_handler)
    for seq in "123":
        manager.send_event(Event="AgentConnect", Seq=seq)
    await _wait_for(lambda: len(seen) == 3, 2)
    assert seen == ["1", "2", "3"]


async def test_a_failing_handler_does_not_stop_delivery(
    fake: tuple[FakeManager, AmiClient],
) -> None:
    manager, client = fake
    seen: list[str] = []

    async def handler(event: Event) -> None:
        if event["Seq"] == "1":
            raise ValueError("bad event")
        seen.append(event["Seq"])

    client.on("Hangup", handler)
    with capture_logs() as logs:
        manager.send_event(Event="Hangup", Seq="1")
        manager.send_event(Event="Hangup", Seq="2")
        await _wait_for(lambda: seen == ["2"], 2)
    assert any(e["event"] == "ami_event_handler_failed" for e in logs)


async def test_error_response_becomes_ami_error(fake: tuple[FakeManager, AmiClient]) -> None:
    _, client = fake
    with pytest.raises(AmiError, match="Interface not found"):
        await client.action({"Action": "QueuePause", "Interface": "Local/1@x"})


async def test_login_hook_runs_after_every_login(fake: tuple[FakeManager, AmiClient]) -> None:
    manager, client = fake
    runs: list[int] = []

    async def hook() -> None:
        runs.append(manager.logins)

    client.on_login(hook)
    manager.writers[-1].close()  # a restart: the hook must catch up after the new login
    await _wait_for(lambda: runs == [2], 5)


async def test_single_reply_action_panoramisk_mistakes_for_a_list(
    fake: tuple[FakeManager, AmiClient],
) -> None:
    _, client = fake
    add = {"Action": "QueueAdd", "Queue": "q", "Interface": "Local/8101@agents-sim/n"}
    # left to panoramisk's guess, "Added interface to queue" starts a list that never ends
    with pytest.raises(AmiError, match="got no reply"):
        await client.action(add, timeout=0.5)
    reply = await client.action(add, timeout=2, as_list=False)
    assert reply.get("Message") == "Added interface to queue"
