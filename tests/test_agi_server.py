"""FastAGI edges against a fake Asterisk over a real socket: EOF, garbage, HANGUP, errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from ivr.agi import protocol
from ivr.agi.channel import AgiChannel
from ivr.agi.server import FastAgiServer
from ivr.errors import AgiCommandFailed, CallerHungUp

HEADERS = (
    "agi_network: yes\nagi_network_script: {route}\nagi_request: agi://127.0.0.1/{route}\n"
    "agi_channel: Local/12345@hotline-00000001;2\nagi_uniqueid: 1764200000.1\n"
    "agi_callerid: 13800138000\n\n"
)


class Recorder:
    """Routes that record what they saw."""

    def __init__(self) -> None:
        self.results: list[object] = []
        self.done = asyncio.Event()

    async def get_caller(self, channel: AgiChannel) -> None:
        try:
            self.results.append(await channel.get_var("CALLERID(num)"))
            self.results.append(await channel.get_var("UNSET_VAR"))
        finally:
            self.done.set()

    async def play(self, channel: AgiChannel) -> None:
        try:
            self.results.append(await channel.play(Path("/x/welcome"), "0"))
            self.results.append(await channel.get_var("CALLERID(num)"))
        except (CallerHungUp, AgiCommandFailed) as exc:
            self.results.append(type(exc).__name__)
            raise
        finally:
            self.done.set()

    async def record(self, channel: AgiChannel) -> None:
        try:
            result = await channel.record(
                Path("/x/req"), escape_digits="#0", max_seconds=60, silence_seconds=2
            )
            self.results.append((result.digit, result.reason, result.seconds, channel.hung_up))
        except AgiCommandFailed as exc:
            self.results.append(str(exc))
        finally:
            self.done.set()

    async def boom(self, channel: AgiChannel) -> None:
        self.done.set()
        raise RuntimeError("bug in a flow")


@pytest.fixture
async def agi() -> AsyncIterator[tuple[FastAgiServer, Recorder, int]]:
    rec = Recorder()
    server = FastAgiServer(
        {"caller": rec.get_caller, "play": rec.play, "record": rec.record, "boom": rec.boom}
    )
    await server.start("127.0.0.1", 0)
    assert server._server is not None
    port = server._server.sockets[0].getsockname()[1]
    yield server, rec, port
    await server.stop()


_open_writers: list[asyncio.StreamWriter] = []


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    _open_writers.append(writer)
    return reader, writer


@pytest.fixture(autouse=True)
async def _close_peers() -> AsyncIterator[None]:
    yield
    while _open_writers:
        writer = _open_writers.pop()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 2) == b""


async def test_route_reads_variables(agi: tuple[FastAgiServer, Recorder, int]) -> None:
    _, rec, port = agi
    reader, writer = await _connect(port)
    writer.write(HEADERS.format(route="caller").encode())
    assert await reader.readline() == b'GET VARIABLE "CALLERID(num)"\n'
    writer.write(b"200 result=1 (13800138000)\n")
    assert await reader.readline() == b'GET VARIABLE "UNSET_VAR"\n'
    writer.write(b"200 result=0\n")
    await asyncio.wait_for(rec.done.wait(), 2)
    assert rec.results == ["13800138000", None]
    assert await _closed_by_server(reader)


async def test_eof_in_headers_closes_without_spinning(
    agi: tuple[FastAgiServer, Recorder, int],
) -> None:
    server, _, port = agi
    reader, writer = await _connect(port)
    with capture_logs(processors=[merge_contextvars]) as logs:
        writer.write(b"agi_network: yes\nagi_channel: Local/x")
        writer.write_eof()  # peer gone mid-header: panoramisk would loop here forever
        assert await _closed_by_server(reader)
        await asyncio.sleep(0.05)
    assert any(entry["event"] == "agi_bad_request" for entry in logs)
    assert not server._sessions, "session task must be finished"


@pytest.mark.parametrize(
    "payload",
    [
        b"GET / HTTP/1.1\nHost: x\n\n",  # not AGI at all
        b"agi_x: " + b"a" * 20000 + b"\n\n",  # one huge variable
        b"".join(b"agi_v%d: 1\n" % i for i in range(500)) + b"\n",  # endless header block
        b"\n",  # empty block
    ],
    ids=["http", "huge-line", "too-many-lines", "empty"],
)
async def test_malformed_headers_are_refused(
    agi: tuple[FastAgiServer, Recorder, int], payload: bytes
) -> None:
    _, rec, port = agi
    reader, writer = await _connect(port)
    writer.write(payload)
    assert await _closed_by_server(reader)
    assert rec.results == []


async def test_unknown_route_is_closed_and_server_keeps_serving(
    agi: tuple[FastAgiServer, Recorder, int],
) -> None:
    _, _rec, port = agi
    reader, writer = await _connect(port)
    with capture_logs(processors=[merge_contextvars]) as logs:
        writer.write(HEADERS.format(route="nope").encode())
        assert await _closed_by_server(reader)
    assert [e["event"] for e in logs] == ["agi_unknown_route"]
    assert logs[0]["route"] == "nope"
    await test_route_reads_variables(agi)


async def test_async_hangup_before_reply_stops_further_commands(
    agi: tuple[FastAgiServer, Recorder, int],
) -> None:
    _, rec, port = agi
    reader, writer = await _connect(port)
    with capture_logs(processors=[merge_contextvars]) as logs:
        writer.write(HEADERS.format(route="play").encode())
        assert (await reader.readline()).startswith(b"STREAM FILE")
        # Asterisk announces the hang-up, then answers the command in flight normally
        writer.write(b"HANGUP\n200 result=0 endpos=0\n")
        # no further command is sent to a dead channel: the session just ends
        assert await _closed_by_server(reader)
    assert rec.results == [None, "CallerHungUp"]
    hung = next(e for e in logs if e["event"] == "caller_hung_up")
    assert hung["uniqueid"] == "1764200000.1" and hung["caller"] == "13800138000"


async def test_playback_failure_without_hangup_is_not_a_hangup(
    agi: tuple[FastAgiServer, Recorder, int],
) -> None:
    _, rec, port = agi
    reader, writer = await _connect(port)
    writer.write(HEADERS.format(route="play").encode())
    await reader.readline()
    writer.write(b"200 result=-1 endpos=0\n")  # a missing prompt file, the caller still there
    assert await _closed_by_server(reader)
    assert rec.results == ["AgiCommandFailed"]


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        (b"200 result=35 (dtmf) endpos=16000\n", ("#", "dtmf", 2.0, False)),
        (b"200 result=1 (timeout) endpos=24000\n", (None, "timeout", 3.0, False)),
        (b"HANGUP\n200 result=-1 (hangup) endpos=8000\n", (None, "hangup", 1.0, True)),
        (b"200 result=-1 (writefile)\n", "cannot record to /x/req.wav (writefile)"),
    ],
    ids=["hash-key", "silence", "hangup-keeps-length", "unwritable"],
)
async def test_record_file_replies(
    agi: tuple[FastAgiServer, Recorder, int], replies: bytes, expected: object
) -> None:
    _, rec, port = agi
    reader, writer = await _connect(port)
    writer.write(HEADERS.format(route="record").encode())
    assert await reader.readline() == b'RECORD FILE "/x/req" wav "#0" 60000 s=2\n'
    writer.write(replies)
    assert await _closed_by_server(reader)
    assert rec.results == [expected]


def test_reply_data_may_contain_parentheses() -> None:
    match = protocol._RESULT.match("200 result=1 (Zhang (Office))")
    assert match is not None and match["data"] == "Zhang (Office)"


async def test_invalid_command_usage_reply_raises(
    agi: tuple[FastAgiServer, Recorder, int],
) -> None:
    _, rec, port = agi
    reader, writer = await _connect(port)
    writer.write(HEADERS.format(route="play").encode())
    await reader.readline()
    writer.write(
        b"520-Invalid command syntax.  Proper usage follows:\nUsage: STREAM FILE\n"
        b"520 End of proper usage.\n"
    )
    assert await _closed_by_server(reader)
    assert rec.results == ["AgiCommandFailed"]


async def test_flow_bug_is_logged_with_call_context(
    agi: tuple[FastAgiServer, Recorder, int],
) -> None:
    _, _rec, port = agi
    reader, writer = await _connect(port)
    with capture_logs(processors=[merge_contextvars]) as logs:
        writer.write(HEADERS.format(route="boom").encode())
        assert await _closed_by_server(reader)
    failed = [e for e in logs if e["event"] == "agi_route_failed"]
    assert failed and failed[0]["uniqueid"] == "1764200000.1"


def test_sync_routes_are_refused() -> None:
    def not_async(channel: AgiChannel) -> None: ...

    with pytest.raises(TypeError, match="async def"):
        FastAgiServer({"x": not_async})  # type: ignore[dict-item]
