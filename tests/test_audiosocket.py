"""The AudioSocket server and a streamed request, over a real TCP socket, with the real Korean
vosk model (Asterisk's side of the protocol is played by a small client here; the real one is
in tests/test_call_flow.py, where every call streams).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from ivr.speech.asr import Transcriber, decode_raw
from ivr.speech.audio import read_wav, wav_duration
from ivr.speech.audiosocket import AudioSocketServer, Kind, message, read_message
from ivr.speech.request_stream import EndRules, RequestStream
from tests.speech_fixtures import KO_MODEL, cer, espeak_clip

pytest_plugins = ["tests.speech_fixtures"]

FRAME = 320  # bytes: 20 ms at 8 kHz, what Asterisk sends


class FakeAsterisk:
    """Asterisk's end of one AudioSocket connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    opened: ClassVar[list[asyncio.StreamWriter]] = []  # closed after each test

    @classmethod
    async def connect(cls, port: int, stream_id: uuid.UUID) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        cls.opened.append(writer)
        writer.write(message(Kind.UUID, stream_id.bytes))
        return cls(reader, writer)

    async def send(self, pcm: bytes, *, realtime: bool = False) -> int:
        """Frames until the server hangs up (or all sent); how many bytes went."""
        sent = 0
        for start in range(0, len(pcm), FRAME):
            if self.reader.at_eof() or self.writer.is_closing():
                break
            try:
                self.writer.write(message(Kind.AUDIO, pcm[start : start + FRAME]))
                await self.writer.drain()
            except ConnectionError:  # the server hung up and closed
                break
            sent += FRAME
            await asyncio.sleep(0.02 if realtime else 0)
            if await self.hung_up(0):
                break
        return sent

    async def hung_up(self, timeout: float) -> bool:
        """Whether the server sent its hangup message (or closed) within `timeout`."""
        try:
            kind, _ = await asyncio.wait_for(read_message(self.reader), timeout)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            return self.reader.at_eof()
        return kind == Kind.HANGUP


def tone(seconds: float, level: float = 3000.0) -> bytes:
    """A loud 440 Hz tone: "speech" for the end rules."""
    t = np.arange(int(8000 * seconds)) / 8000
    return (level * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


def quiet(seconds: float) -> bytes:
    """Line noise well under the speech level."""
    rng = np.random.default_rng(7)
    return (rng.normal(0, 40, int(8000 * seconds))).astype("<i2").tobytes()


@pytest.fixture
async def server() -> AsyncIterator[tuple[AudioSocketServer, int]]:
    """A listening server on a free port."""
    audiosocket = AudioSocketServer()
    await audiosocket.start("127.0.0.1", 0)
    assert audiosocket._server is not None
    port = audiosocket._server.sockets[0].getsockname()[1]
    yield audiosocket, port
    await audiosocket.stop()
    for writer in FakeAsterisk.opened:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    FakeAsterisk.opened.clear()


async def test_hash_ends_the_request_and_the_audio_is_kept(
    server: tuple[AudioSocketServer, int], tmp_path: Path
) -> None:
    audiosocket, port = server
    stream = RequestStream(tmp_path / "r.wav", None, EndRules(), unavailable="no model here")
    asterisk = await FakeAsterisk.connect(port, audiosocket.expect(stream))
    await asterisk.send(tone(1.0))
    asterisk.writer.write(message(Kind.DTMF, b"#"))
    assert await asterisk.hung_up(5), "the server ends the AudioSocket app"
    result = await stream.finish()
    assert result.ended_by == "#" and result.complete
    assert result.path is not None and abs(wav_duration(result.path) - 1.0) < 0.05
    assert not result.transcript.available and result.transcript.reason == "no model here"
    assert not (tmp_path / "r.sln").exists()


async def test_silence_after_speech_ends_it_and_a_long_quiet_start_does_too(
    server: tuple[AudioSocketServer, int], tmp_path: Path
) -> None:
    audiosocket, port = server
    stream = RequestStream(tmp_path / "a.wav", None, EndRules(silence_seconds=1.0))
    asterisk = await FakeAsterisk.connect(port, audiosocket.expect(stream))
    sent = await asterisk.send(tone(0.5) + quiet(5.0))
    result = await stream.finish()
    assert result.ended_by == "silence"
    assert abs(sent / 16000 - 1.5) < 0.1, "ended one second into the quiet, not later"

    nobody = RequestStream(tmp_path / "b.wav", None, EndRules(initial_silence_seconds=2.0))
    asterisk = await FakeAsterisk.connect(port, audiosocket.expect(nobody))
    sent = await asterisk.send(quiet(6.0))
    assert (await nobody.finish()).ended_by == "silence" and abs(sent / 16000 - 2.0) < 0.1


async def test_a_caller_hanging_up_mid_sentence_leaves_audio_and_transcript(
    server: tuple[AudioSocketServer, int], tmp_path: Path, ko_transcriber: Transcriber
) -> None:
    audiosocket, port = server
    clip = espeak_clip("가로등이 고장 났어요 밤마다 소음이 너무 심해요", tmp_path / "c.wav")
    pcm = read_wav(clip).samples.astype("<i2").tobytes()
    half = pcm[: len(pcm) // 2 // FRAME * FRAME]
    decoder = await ko_transcriber.open_stream(8000)
    stream = RequestStream(tmp_path / "cut.wav", decoder, EndRules())
    asterisk = await FakeAsterisk.connect(port, audiosocket.expect(stream))
    await asterisk.send(half)
    asterisk.writer.close()  # the caller hangs up: Asterisk closes the socket
    result = await stream.finish()
    assert (result.ended_by, result.complete) == ("hangup", False)
    assert result.path is not None and abs(wav_duration(result.path) - len(half) / 16000) < 0.05
    assert result.transcript.available and result.transcript.text


async def test_streamed_words_match_decoding_the_recording_afterwards(
    server: tuple[AudioSocketServer, int], tmp_path: Path, ko_transcriber: Transcriber
) -> None:
    audiosocket, port = server
    clip = espeak_clip("길에 쓰레기가 많아요 가로등이 고장 났어요", tmp_path / "w.wav")
    pcm = read_wav(clip).samples.astype("<i2").tobytes() + quiet(3.0)
    partials: list[str] = []

    async def partial(text: str) -> None:
        partials.append(text)

    decoder = await ko_transcriber.open_stream(8000)
    stream = RequestStream(tmp_path / "s.wav", decoder, EndRules(), on_partial=partial)
    asterisk = await FakeAsterisk.connect(port, audiosocket.expect(stream))
    loop = asyncio.get_running_loop()
    lags: list[float] = []

    async def watch_loop() -> None:
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            lags.append(loop.time() - before - 0.01)

    watcher = asyncio.create_task(watch_loop())
    await asterisk.send(pcm, realtime=True)
    started = time.monotonic()
    result = await stream.finish()
    after_end = time.monotonic() - started
    watcher.cancel()
    raw = await asyncio.to_thread(decode_raw, KO_MODEL, result.path)  # type: ignore[arg-type]
    other_clip = espeak_clip("밤마다 소음이 너무 심해요", tmp_path / "o.wav")
    other = await asyncio.to_thread(decode_raw, KO_MODEL, other_clip)
    assert result.ended_by in ("endpoint", "silence")
    # espeak's Korean through this small model is rough (CER ~0.9 against the text), and
    # vosk's output shifts a little with how audio is cut: what counts is that the streamed
    # words are those of this audio, far closer to it than to another sentence's
    heard = result.transcript.text
    assert heard and cer([raw], [heard]) + 0.3 < cer([other], [heard]), (heard, raw, other)
    assert partials, "words were pushed while the caller spoke"
    assert after_end < 1.0, "the transcript is ready when the stream ends"
    # decoding on the loop would stall it ~30 ms for every 0.2 s piece; a busy 2-core machine
    # may still preempt the loop now and then, hence a loose bound on the worst case
    lags.sort()
    assert lags[int(len(lags) * 0.95)] < 0.02 and lags[-1] < 0.25, "decoding is off the loop"


async def test_unknown_streams_and_garbage_are_turned_away(
    server: tuple[AudioSocketServer, int],
) -> None:
    audiosocket, port = server
    stranger = await FakeAsterisk.connect(port, uuid.uuid4())
    assert await _closed_on_us(stranger.reader), "closed without a word"
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    FakeAsterisk.opened.append(writer)
    writer.write(b"GET / HTTP/1.1\r\n\r\n")
    assert await _closed_on_us(reader)
    assert audiosocket.listening


async def _closed_on_us(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), 5) == b""
    except ConnectionResetError:
        return True
