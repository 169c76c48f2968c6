"""The caller's request streamed to us over AudioSocket while they speak (issue 8).

Used by the intake after the beep when the AudioSocket server is listening. If Asterisk
never connects (the app is missing, the server went away), the intake falls back to
RECORD FILE for this call: the caller hears nothing different, only the transcript comes
later. Whatever arrived before a failure is kept.
"""

from __future__ import annotations

from pathlib import Path

import structlog

from ivr.agi.channel import AgiChannel
from ivr.errors import AgiCommandFailed, ModelUnavailable
from ivr.services import Services
from ivr.speech.asr import StreamDecoder
from ivr.speech.audiosocket import AudioSocketServer
from ivr.speech.request_stream import RATE, EndRules, Partial, RequestStream, StreamedRequest

log = structlog.get_logger(__name__)


class StreamedCapture:
    """One call's request over AudioSocket."""

    def __init__(self, channel: AgiChannel, services: Services, server: AudioSocketServer) -> None:
        self.channel = channel
        self.services = services
        self.server = server
        settings = services.settings
        self.rules = EndRules(
            silence_seconds=settings.record_silence_seconds,
            max_seconds=settings.record_max_seconds,
        )
        self.address = f"{settings.audiosocket_host}:{settings.audiosocket_port}"

    async def capture(self, path: Path, on_partial: Partial) -> StreamedRequest | None:
        """The streamed request; None when the stream never came (record instead)."""
        decoder, unavailable = await self._decoder()
        stream = RequestStream(
            path,
            decoder,
            self.rules,
            unavailable=unavailable,
            on_partial=on_partial,
        )
        stream_id = self.server.expect(stream)
        try:
            await self.channel.exec_app("AudioSocket", f"{stream_id},{self.address}")
        except AgiCommandFailed as exc:
            log.error("audiosocket_exec_failed", error=str(exc))
        finally:
            self.server.forget(stream_id)
        if not stream.connected.is_set():
            await stream.discard()
            log.warning("audiosocket_fallback_to_record", address=self.address)
            return None
        return await stream.finish()

    async def _decoder(self) -> tuple[StreamDecoder | None, str | None]:
        try:
            return await self.services.transcriber.open_stream(RATE), None
        except ModelUnavailable as exc:
            return None, str(exc)  # the audio is still kept; the draft says why no words
