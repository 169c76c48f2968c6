"""Place simulated citizen calls through the real Asterisk and wait for them to end.

A call is AMI Originate of Local/12345@hotline: the `;2` half runs the hotline dialplan as a
real caller would, the `;1` half runs [caller-sim], which waits for the prompts, plays the
request clip and ends it with silence or '#'. We choose both halves' unique ids.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ivr.ami.client import AmiClient, Event
from ivr.dialplans import variables
from ivr.errors import AmiError


@dataclass(frozen=True)
class CallScript:
    """What the simulated citizen does."""

    caller: str = "13800138000"
    clip: Path | None = None  # path without extension, as Asterisk wants it
    delay_seconds: float = 0.0  # wait after answer before speaking (the prompts play)
    end: str = "silence"  # or "dtmf": press '#' after speaking
    keys: str = ""  # keys to press before speaking (e.g. "0" to skip to an agent)
    then_keys: str = ""  # keys pressed `then_delay` seconds after `keys` (answering a prompt)
    then_delay: float = 0.0
    hangup_after: float | None = None  # seconds after answer; None = stay until hung up on
    answer_timeout: float = 30.0  # give up before the IVR answers (hang-up during 彩铃)
    stay_seconds: int = 600


@dataclass
class SimCall:
    """A placed call: the hotline side's uniqueid, and a future resolved at its hang-up."""

    uniqueid: str
    script: CallScript
    ended: asyncio.Future[Event] = field(repr=False)
    originate_error: str | None = None


class CallSimulator:
    """Originates scripted calls and tracks their hang-ups over one AMI connection."""

    def __init__(self, ami: AmiClient) -> None:
        self.ami = ami
        self._pending: dict[str, SimCall] = {}
        ami.on("Hangup", self._on_hangup)

    async def place(self, script: CallScript) -> SimCall:
        """Originate one call; returns once the IVR answered or the originate failed."""
        # Asterisk looks unique ids up by prefix: the two halves' ids must not prefix each other
        token = uuid.uuid4().hex[:16]
        uid = f"sim-{token}"
        call = SimCall(uid, script, asyncio.get_running_loop().create_future())
        self._pending[uid] = call
        try:
            await self.ami.action(
                _originate(uid, token, script), timeout=script.answer_timeout + 10
            )
        except AmiError as exc:
            # e.g. the caller gave up during the 彩铃 (answer_timeout): an outcome, not a bug
            call.originate_error = str(exc)
        return call

    async def wait_ended(self, call: SimCall, timeout: float) -> Event:
        """The Hangup event of the call's hotline side."""
        return await asyncio.wait_for(asyncio.shield(call.ended), timeout)

    async def _on_hangup(self, event: Event) -> None:
        call = self._pending.pop(event.get("Uniqueid", ""), None)
        if call is not None and not call.ended.done():
            call.ended.set_result(event)


def _originate(uid: str, token: str, script: CallScript) -> dict[str, str | list[str]]:
    return {
        "Action": "Originate",
        "Channel": f"Local/{variables.HOTLINE_EXTEN}@{variables.HOTLINE_CONTEXT}/n",
        "Context": "caller-sim",
        "Exten": "s",
        "Priority": "1",
        "CallerID": f'"{script.caller}" <{script.caller}>',
        "Timeout": str(int(script.answer_timeout * 1000)),
        "ChannelId": f"cit-{token}",
        "OtherChannelId": uid,
        "Async": "true",
        "Variable": _variables(script),
    }


def _variables(script: CallScript) -> list[str]:
    values = {
        "SIM_CLIP": str(script.clip) if script.clip else "",
        "SIM_DELAY": f"{script.delay_seconds:.2f}",
        "SIM_END": script.end,
        "SIM_KEYS": script.keys,
        "SIM_THEN_KEYS": script.then_keys,
        "SIM_THEN_DELAY": f"{script.then_delay:.2f}",
        "SIM_HANGUP_AFTER": "" if script.hangup_after is None else f"{script.hangup_after:.2f}",
        "SIM_STAY": str(script.stay_seconds),
    }
    return [f"{name}={value}" for name, value in values.items()]
