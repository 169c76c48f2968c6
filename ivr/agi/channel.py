"""A small typed facade over one FastAGI session: the only way flows touch a channel."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import structlog

from ivr.agi.protocol import AgiHeaders, AgiReply, read_reply
from ivr.errors import AgiCommandFailed, CallerHungUp

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RecordResult:
    """How a RECORD FILE ended: the key that ended it (or None), and how much was taken."""

    digit: str | None
    end_samples: int
    reason: str  # 'dtmf', 'timeout' (silence or max length), 'hangup'

    @property
    def seconds(self) -> float:
        """Audio length as Asterisk counted it (the file may still be flushing)."""
        return self.end_samples / 8000


class AgiChannel:
    """One caller's channel, driven over FastAGI."""

    def __init__(
        self, headers: AgiHeaders, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.headers = headers
        self._reader = reader
        self._writer = writer
        self.hung_up = False

    async def command(self, line: str) -> AgiReply:
        """Send one AGI command and return its reply; a hang-up raises CallerHungUp."""
        if self.hung_up:
            raise CallerHungUp("channel already hung up")
        if "\n" in line or "\r" in line:
            raise AgiCommandFailed("AGI command must be one line")
        self._writer.write(line.encode() + b"\n")
        try:
            await self._writer.drain()
            reply = await read_reply(self._reader)
        except (CallerHungUp, ConnectionError) as exc:
            self.hung_up = True
            raise CallerHungUp(str(exc)) from exc
        if reply.code != 200:
            raise AgiCommandFailed(f"{line.split()[0]}: {reply.code} {reply.rest}")
        self.hung_up = self.hung_up or reply.hangup_seen
        return reply

    async def play(self, prompt: Path, escape_digits: str = "") -> str | None:
        """Play a prompt (path without extension); return the key that interrupted it."""
        reply = await self.command(f'STREAM FILE {_quote(str(prompt))} "{escape_digits}"')
        if reply.result_int < 0:
            if reply.hangup_seen:
                raise CallerHungUp("hung up during playback")
            # -1 without a hang-up: the file is missing or unreadable, not the caller's doing
            raise AgiCommandFailed(f"cannot play {prompt}")
        return chr(reply.result_int) if reply.result_int > 0 else None

    async def record(
        self, path: Path, *, escape_digits: str, max_seconds: int, silence_seconds: int
    ) -> RecordResult:
        """Record to PATH.wav until silence, max length, an escape key or the caller's hang-up."""
        timeout_ms = max_seconds * 1000
        reply = await self.command(
            f'RECORD FILE {_quote(str(path))} wav "{escape_digits}" {timeout_ms} '
            f"s={silence_seconds}"
        )
        end = _endpos(reply.rest)
        if reply.data == "hangup" or (reply.result_int < 0 and reply.hangup_seen):
            self.hung_up = True  # Asterisk keeps what was recorded: the audio is not lost
            return RecordResult(None, end, "hangup")
        if reply.result_int < 0:
            raise AgiCommandFailed(f"cannot record to {path}.wav ({reply.data or 'error'})")
        # "(timeout)" covers silence and max length; its result code is not a key
        if reply.data == "dtmf" and reply.result_int > 0:
            return RecordResult(chr(reply.result_int), end, "dtmf")
        return RecordResult(None, end, reply.data or "timeout")

    async def wait_for_digit(self, seconds: float) -> str | None:
        """The key the caller presses within `seconds`, or None."""
        reply = await self.command(f"WAIT FOR DIGIT {int(seconds * 1000)}")
        if reply.result_int < 0:
            if reply.hangup_seen:
                raise CallerHungUp("hung up while we waited for a key")
            raise AgiCommandFailed("WAIT FOR DIGIT failed")
        return chr(reply.result_int) if reply.result_int > 0 else None

    async def get_var(self, name: str) -> str | None:
        """A channel variable or dialplan expression such as CALLERID(num); None if unset."""
        reply = await self.command(f"GET VARIABLE {_quote(name)}")
        return reply.data if reply.result == "1" else None

    async def set_var(self, name: str, value: str) -> None:
        """Set a channel variable."""
        await self.command(f"SET VARIABLE {_quote(name)} {_quote(value)}")

    async def exec_app(self, app: str, args: str = "") -> int:
        """Run a dialplan application; return its AGI result code."""
        reply = await self.command(f"EXEC {app} {_quote(args)}")
        if reply.result_int == -2:
            raise AgiCommandFailed(f"no such application: {app}")
        return reply.result_int

    async def verbose(self, message: str) -> None:
        """Write a line in Asterisk's log (helps an operator read both logs side by side)."""
        await self.command(f"VERBOSE {_quote(message)} 3")


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _endpos(rest: str) -> int:
    for part in rest.split():
        if part.startswith("endpos="):
            digits = part.removeprefix("endpos=")
            return int(digits) if digits.isdigit() else 0
    return 0
