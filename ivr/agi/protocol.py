"""The FastAGI wire format: the header block Asterisk sends, and command replies.

Reading is defensive: Asterisk (or anything else that connects) may close the socket at any
point, send a header block that never ends, or slip an asynchronous `HANGUP` line in before
the reply to a command. panoramisk loops forever on EOF in the headers; we do not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ivr.errors import AgiCommandFailed, CallerHungUp, CallError

MAX_HEADER_LINES = 100
MAX_LINE_BYTES = 8192
HEADER_TIMEOUT_SECONDS = 5.0

# the data in parentheses runs to the LAST ')' before the key=value tail: values such as
# "Zhang (Office)" contain parentheses themselves
_RESULT = re.compile(
    r"^(?P<code>\d{3})[ -]result=(?P<result>-?\d*)\s*"
    r"(?:\((?P<data>.*)\))?(?P<rest>(?:\s+\w+=\S*)*)\s*$"
)


class MalformedAgiRequest(CallError):
    """The peer did not send a valid FastAGI header block."""


@dataclass(frozen=True)
class AgiHeaders:
    """The `agi_*` variables Asterisk sends when a FastAGI session starts."""

    values: dict[str, str]

    @property
    def route(self) -> str:
        """The path part of agi://host:port/ROUTE (`hotline`)."""
        script = self.values.get("agi_network_script") or ""
        if not script and self.values.get("agi_request", "").startswith("agi://"):
            script = urlsplit(self.values["agi_request"]).path
        return script.strip("/").split("?")[0]

    @property
    def uniqueid(self) -> str:
        """The channel's unique id."""
        return self.values.get("agi_uniqueid", "")

    @property
    def channel(self) -> str:
        """The channel name."""
        return self.values.get("agi_channel", "")

    @property
    def caller(self) -> str:
        """The caller's number as Asterisk knows it (may be 'unknown')."""
        return self.values.get("agi_callerid", "")


@dataclass(frozen=True)
class AgiReply:
    """One parsed reply line: `200 result=48 (dtmf) endpos=1234`."""

    code: int
    result: str
    data: str
    rest: str
    hangup_seen: bool = False  # Asterisk announced the caller's hang-up before this reply

    @property
    def result_int(self) -> int:
        """The numeric result, -1 when absent."""
        return int(self.result) if self.result.lstrip("-").isdigit() else -1


async def read_headers(reader: asyncio.StreamReader) -> AgiHeaders:
    """Read the header block up to its blank line; EOF, garbage or overflow raise."""
    values: dict[str, str] = {}
    async with asyncio.timeout(HEADER_TIMEOUT_SECONDS):
        for _ in range(MAX_HEADER_LINES):
            line = await _read_line(reader)
            if line == "":
                if not values:
                    raise MalformedAgiRequest("empty AGI header block")
                return AgiHeaders(values)
            key, sep, value = line.partition(":")
            if not sep or not key.startswith("agi_"):
                raise MalformedAgiRequest(f"not an AGI header line: {line[:80]!r}")
            values[key.strip()] = value.strip()
    raise MalformedAgiRequest(f"more than {MAX_HEADER_LINES} AGI header lines")


async def read_reply(reader: asyncio.StreamReader) -> AgiReply:
    """Read one command's final reply, noting an async HANGUP that came before it."""
    hung_up = False
    while True:
        line = await _read_line(reader)
        if line == "HANGUP":
            hung_up = True  # the reply to our command still follows
            continue
        if line.startswith("100 "):
            continue  # interim "Trying..." (GOSUB): the final reply follows
        reply = await _parse_reply(line, reader)
        if reply.code == 511:
            raise CallerHungUp(line)
        return dataclasses.replace(reply, hangup_seen=hung_up)


async def _parse_reply(line: str, reader: asyncio.StreamReader) -> AgiReply:
    if line.startswith("520-"):
        while not line.startswith("520 "):  # usage text until "520 End of proper usage."
            line = await _read_line(reader)
        raise AgiCommandFailed("invalid AGI command syntax")
    match = _RESULT.match(line)
    if match is None:
        code = line[:3]
        if code.isdigit() and code != "200":
            return AgiReply(int(code), "", "", line[4:])
        raise AgiCommandFailed(f"unexpected AGI reply: {line[:120]!r}")
    return AgiReply(int(match["code"]), match["result"], match["data"] or "", match["rest"].strip())


async def _read_line(reader: asyncio.StreamReader) -> str:
    try:
        raw = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        raise CallerHungUp("AGI connection closed") from exc
    except asyncio.LimitOverrunError as exc:
        raise MalformedAgiRequest(f"AGI line longer than {MAX_LINE_BYTES} bytes") from exc
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")
