"""One caller's request as it streams in: kept on disk, decoded as it comes, ended on time.

The request ends when the caller presses # (or 0 for an agent), after `silence_seconds` of
quiet once they have spoken, sooner when vosk has closed an utterance and a short pause
follows, after a longer quiet when they never speak, or at the length limit. Then the
AudioSocket session is ended, so the AGI flow carries on at once; the transcript is what
the decoder has by then plus the last piece.

Nothing is lost when the caller hangs up mid-sentence: the audio received so far is
appended to `<request>.sln` every second (raw 8 kHz, what Asterisk itself writes) and becomes
the request's WAV at the end, and the transcript covers everything received.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import numpy as np
import structlog

from ivr.speech.asr import StreamDecoder, Transcript
from ivr.speech.audio import Audio, write_wav
from ivr.speech.audiosocket import Kind, message

log = structlog.get_logger(__name__)

RATE = 8000
BYTES_PER_SECOND = 2 * RATE
DECODE_PIECE_BYTES = BYTES_PER_SECOND // 5  # 0.2 s pieces: partials keep up with the voice
SPOOL_EVERY_BYTES = BYTES_PER_SECOND  # on disk at most a second behind
SPEECH_RMS = 300.0  # above telephone line noise, well below a voice
PARTIAL_EVERY_SECONDS = 0.5
AFTER_UTTERANCE_SECONDS = 0.8  # vosk closed an utterance: this much quiet ends the request
CLOSE_WAIT_SECONDS = 10.0

Partial = Callable[[str], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class EndRules:
    """When a request is over."""

    silence_seconds: float = 2.0
    max_seconds: float = 60.0
    initial_silence_seconds: float = 5.0
    end_keys: str = "#"
    skip_keys: str = "0"


@dataclasses.dataclass(frozen=True)
class StreamedRequest:
    """What came of the stream."""

    path: Path | None  # the request's WAV; None when no audio came at all
    seconds: float
    complete: bool  # False: the caller hung up while speaking
    ended_by: str  # "#", "0", "silence", "endpoint", "max", "hangup"
    transcript: Transcript
    speech_ended_at: float | None  # time.monotonic() of the last loud frame
    ended_at: float  # time.monotonic() when the request was over (ended or hung up)


class RequestStream:
    """The AudioSocket sink of one call's request."""

    def __init__(
        self,
        path: Path,
        decoder: StreamDecoder | None,
        rules: EndRules,
        *,
        unavailable: str | None = None,
        on_partial: Partial | None = None,
    ) -> None:
        self.path = path
        self.decoder = decoder
        self.rules = rules
        self.unavailable = unavailable  # why there is no decoder
        self.on_partial = on_partial
        self.connected = asyncio.Event()
        self._closed = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._pcm = bytearray()
        self._piece = bytearray()
        self._spooled = 0
        self._pieces: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._decoding = asyncio.create_task(self._decode_all()) if decoder else None
        self._spooling: asyncio.Task[None] | None = None
        self._heard = False
        self._quiet = 0.0
        self._utterance_closed = False
        self._last_speech: float | None = None
        self._partial_sent = ("", 0.0)
        self.ended_by: str | None = None
        self._ended_at = 0.0

    def attach(self, writer: asyncio.StreamWriter) -> None:
        """Asterisk connected."""
        self._writer = writer
        self.connected.set()

    async def audio(self, pcm: bytes) -> None:
        """A frame: keep it, queue it for decoding, and see whether the request is over."""
        if self.ended_by is not None:
            return
        self._pcm += pcm
        self._piece += pcm
        if len(self._piece) >= DECODE_PIECE_BYTES:
            self._pieces.put_nowait(bytes(self._piece))
            self._piece.clear()
        if len(self._pcm) - self._spooled >= SPOOL_EVERY_BYTES:
            self._spool()
        self._listen(pcm)
        reason = self._why_over()
        if reason is not None:
            self._end(reason)

    async def key(self, digit: str) -> None:
        """# ends the request, 0 asks for an agent."""
        if self.ended_by is None and digit in self.rules.end_keys + self.rules.skip_keys:
            self._end(digit)

    async def closed(self, reason: str) -> None:
        """The socket is gone; if we did not end it, the caller hung up."""
        if self.ended_by is None:
            self.ended_by, self._ended_at = "hangup", time.monotonic()
        self._closed.set()

    async def discard(self) -> None:
        """The stream never came: stop the decoder task."""
        self._pieces.put_nowait(None)
        if self._decoding is not None:
            await self._decoding

    async def finish(self) -> StreamedRequest:
        """Wait for the stream to close, finish decoding, write the WAV; the result."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), CLOSE_WAIT_SECONDS)
        if self._piece:
            self._pieces.put_nowait(bytes(self._piece))
        self._pieces.put_nowait(None)
        transcript = await self._transcript()
        if self._spooling is not None:
            await self._spooling
        path = await asyncio.to_thread(self._save) if self._pcm else None
        return StreamedRequest(
            path=path,
            seconds=len(self._pcm) / BYTES_PER_SECOND,
            complete=self.ended_by != "hangup",
            ended_by=self.ended_by or "hangup",
            transcript=transcript,
            speech_ended_at=self._last_speech,
            ended_at=self._ended_at or time.monotonic(),
        )

    def _listen(self, pcm: bytes) -> None:
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        loud = samples.size > 0 and float(np.sqrt(np.mean(samples**2))) > SPEECH_RMS
        if loud:
            self._heard, self._quiet, self._utterance_closed = True, 0.0, False
            self._last_speech = time.monotonic()
        else:
            self._quiet += len(pcm) / BYTES_PER_SECOND

    def _why_over(self) -> str | None:
        rules = self.rules
        if len(self._pcm) / BYTES_PER_SECOND >= rules.max_seconds:
            return "max"
        if not self._heard:
            return "silence" if self._quiet >= rules.initial_silence_seconds else None
        if self._quiet >= rules.silence_seconds:
            return "silence"
        if self._utterance_closed and self._quiet >= AFTER_UTTERANCE_SECONDS:
            return "endpoint"
        return None

    def _end(self, reason: str) -> None:
        self.ended_by, self._ended_at = reason, time.monotonic()
        log.info("request_stream_ended", ended_by=reason, seconds=len(self._pcm) / BYTES_PER_SECOND)
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(message(Kind.HANGUP))  # AudioSocket() returns: the flow goes on
            self._writer.close()

    async def _decode_all(self) -> None:
        assert self.decoder is not None
        while (piece := await self._pieces.get()) is not None:
            step = await self.decoder.feed(np.frombuffer(piece, dtype="<i2"))
            if step.endpoint:
                self._utterance_closed = True
            await self._maybe_partial(step.partial)

    async def _maybe_partial(self, text: str) -> None:
        last_text, last_at = self._partial_sent
        now = time.monotonic()
        if self.on_partial is None or text == last_text or now - last_at < PARTIAL_EVERY_SECONDS:
            return
        self._partial_sent = (text, now)
        try:
            await self.on_partial(text)
        except Exception:  # a console update must never stop the decoding
            log.exception("partial_transcript_failed")

    async def _transcript(self) -> Transcript:
        if self.decoder is None or self._decoding is None:
            missing = self.unavailable or "no speech model"
            return Transcript(text="", available=False, reason=missing)
        await self._decoding
        text = await self.decoder.finish()
        seconds = len(self._pcm) / BYTES_PER_SECOND
        silent = None if self._pcm else "no audio arrived"
        return Transcript(text, True, silent, seconds, self.decoder.decode_seconds)

    def _spool(self) -> None:
        # one append at a time, in order; the next waits for the previous
        chunk, start = bytes(self._pcm[self._spooled :]), self._spooled
        self._spooled = len(self._pcm)
        previous = self._spooling

        async def append() -> None:
            if previous is not None:
                await previous
            await asyncio.to_thread(_append, self.path.with_suffix(".sln"), chunk, start)

        self._spooling = asyncio.create_task(append())

    def _save(self) -> Path:
        samples = np.frombuffer(bytes(self._pcm), dtype="<i2")
        write_wav(self.path, Audio(samples, RATE))
        self.path.with_suffix(".sln").unlink(missing_ok=True)  # the WAV holds it all now
        return self.path


def _append(path: Path, chunk: bytes, offset: int) -> None:
    with path.open("r+b" if offset else "wb") as spool:
        spool.seek(offset)
        spool.write(chunk)
