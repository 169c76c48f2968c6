"""An asyncio AudioSocket server: Asterisk streams a call's audio to us while the caller talks.

The AGI flow runs `EXEC AudioSocket(<uuid>,host:port)`; Asterisk connects, sends the uuid,
then 20 ms frames of 8 kHz signed-linear audio (and, since Asterisk 22.3, DTMF keys). The
flow registers a sink under that uuid before the EXEC (`expect`); a connection naming an
unknown uuid is closed at once. Sending the hangup message ends the AudioSocket() app, and
the AGI flow carries on.

Protocol (3-byte header: kind, big-endian payload length): 0x00 hangup, 0x01 uuid
(16 bytes), 0x03 DTMF (1 ASCII byte), 0x10 audio (s16le mono 8 kHz), 0xff error.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import uuid
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

HEADER_BYTES = 3
UUID_BYTES = 16
FIRST_MESSAGE_TIMEOUT = 5.0


class Kind(enum.IntEnum):
    """AudioSocket message kinds."""

    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


class StreamSink(Protocol):
    """What receives one call's stream (ivr.speech.request_stream.RequestStream)."""

    def attach(self, writer: asyncio.StreamWriter) -> None:
        """The connection is up; `writer` can end it."""

    async def audio(self, pcm: bytes) -> None:
        """A frame of 8 kHz s16le audio."""

    async def key(self, digit: str) -> None:
        """A DTMF key."""

    async def closed(self, reason: str) -> None:
        """The stream is over: "ended" (we ended it), "hangup", "eof" or "error"."""


def message(kind: Kind, payload: bytes = b"") -> bytes:
    """One protocol message."""
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


async def read_message(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next (kind, payload); IncompleteReadError at end of stream."""
    header = await reader.readexactly(HEADER_BYTES)
    length = int.from_bytes(header[1:3], "big")
    return header[0], await reader.readexactly(length)


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections and hands each to the sink expecting it."""

    def __init__(self) -> None:
        self._expected: dict[uuid.UUID, StreamSink] = {}
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()

    @property
    def listening(self) -> bool:
        """Whether the server accepts connections."""
        return self._server is not None and self._server.is_serving()

    def expect(self, sink: StreamSink) -> uuid.UUID:
        """Register a sink; Asterisk must be told the returned uuid."""
        stream_id = uuid.uuid4()
        self._expected[stream_id] = sink
        return stream_id

    def forget(self, stream_id: uuid.UUID) -> None:
        """Stop expecting a stream (it never came, or it is over)."""
        self._expected.pop(stream_id, None)

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port."""
        self._server = await asyncio.start_server(self._accept, host, port)
        log.info("audiosocket_listening", host=host, port=port)

    async def stop(self) -> None:
        """Stop listening and end the streams in progress."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            sink = await self._identify(reader)
            if sink is not None:
                await _pump(reader, writer, sink)
        finally:
            self._sessions.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _identify(self, reader: asyncio.StreamReader) -> StreamSink | None:
        try:
            header = await asyncio.wait_for(reader.readexactly(HEADER_BYTES), FIRST_MESSAGE_TIMEOUT)
            kind, length = header[0], int.from_bytes(header[1:3], "big")
            if kind != Kind.UUID or length != UUID_BYTES:  # not Asterisk: do not wait for more
                log.warning("audiosocket_bad_first_message", kind=kind, length=length)
                return None
            payload = await asyncio.wait_for(reader.readexactly(length), FIRST_MESSAGE_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            log.warning("audiosocket_no_uuid", error=repr(exc))
            return None
        sink = self._expected.pop(uuid.UUID(bytes=payload), None)
        if sink is None:
            log.warning("audiosocket_unknown_stream", stream=str(uuid.UUID(bytes=payload)))
        return sink


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sink: StreamSink
) -> None:
    """Feed the sink until either side ends the stream."""
    sink.attach(writer)
    reason = "eof"
    try:
        while True:
            kind, payload = await read_message(reader)
            if kind == Kind.AUDIO:
                await sink.audio(payload)
            elif kind == Kind.DTMF and payload:
                await sink.key(chr(payload[0]))
            elif kind == Kind.HANGUP:
                reason = "hangup"
                break
            elif kind == Kind.ERROR:
                log.warning("audiosocket_error_from_asterisk", code=payload.hex())
                reason = "error"
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        reason = "eof"  # the caller hung up: Asterisk closed the socket
    finally:
        await sink.closed(reason)
