"""`ivr demo`: simulated citizens call 12345 through the real Asterisk; print their cases."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.ami.client import AmiClient
from ivr.db import analysis, calls, cases
from ivr.db.calls import CallView
from ivr.db.cases import CaseView
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.errors import IvrError
from ivr.settings import Settings
from ivr.sim.calls import CallScript, CallSimulator, SimCall
from ivr.speech.audio import wav_duration
from ivr.speech.tts import synthesize_clip

DEMO_REQUEST = (
    "你好，我们小区门口的路灯坏了一个星期了，晚上很黑，请尽快派人来修，地址是西湖区文三路100号。"
)
CASE_WAIT_SECONDS = 30.0


def prompt_delay(settings: Settings) -> float:
    """How long the simulated caller waits after answer: welcome prompt, beep, a breath."""
    prompts = settings.prompts_dir
    return wav_duration(prompts / "welcome.wav") + wav_duration(prompts / "beep.wav") + 0.4


def demo_clip(settings: Settings, text: str = DEMO_REQUEST) -> Path:
    """The spoken request (Mandarin, espeak-ng), built once; path without extension."""
    clip = settings.recordings_dir / "sim" / "demo-request.wav"
    if not clip.exists():
        synthesize_clip(text, clip)
    return clip.with_suffix("")


async def run_demo(settings: Settings, n_calls: int, hangup_after: float | None) -> int:
    """Place N calls, wait for them, print one JSON line per case; 1 if any has none."""
    _require_server(settings)
    _warn_without_model(settings)
    clip = await asyncio.to_thread(demo_clip, settings)
    ami = AmiClient.from_settings(settings)
    await ami.start()
    try:
        await ami.wait_logged_in(20)
        placed = await _place_calls(CallSimulator(ami), settings, clip, n_calls, hangup_after)
        engine = make_engine(settings.database_url)
        try:
            missing = await _print_cases(make_sessionmaker(engine), placed)
        finally:
            await engine.dispose()
    finally:
        await ami.close()
    return 1 if missing else 0


async def _place_calls(
    sim: CallSimulator, settings: Settings, clip: Path, n: int, hangup_after: float | None
) -> list[SimCall]:
    delay = prompt_delay(settings)
    scripts = [
        CallScript(
            caller=f"1380013{8000 + i:04d}",
            clip=clip,
            delay_seconds=delay,
            hangup_after=hangup_after,
        )
        for i in range(n)
    ]
    # all at once, like citizens do: Originate replies only once the IVR answers
    placed = await asyncio.gather(*(sim.place(script) for script in scripts))
    budget = 60 + n * (settings.sim_agent_talk_seconds + 15)
    await asyncio.gather(*(sim.wait_ended(call, budget) for call in placed))
    return list(placed)


async def _print_cases(db: async_sessionmaker[AsyncSession], placed: list[SimCall]) -> int:
    missing = 0
    for call in placed:
        line = await _wait_case_line(db, call.uniqueid)
        if line is None:
            missing += 1
            error = {"call": call.uniqueid, "error": "no case", "originate": call.originate_error}
            print(json.dumps(error, ensure_ascii=False), flush=True)
        else:
            print(json.dumps(line, ensure_ascii=False, default=str), flush=True)
    return missing


async def _wait_case_line(
    db: async_sessionmaker[AsyncSession], uniqueid: str
) -> dict[str, Any] | None:
    for _ in range(int(CASE_WAIT_SECONDS / 0.5)):
        case = await cases.case_for_call(db, uniqueid)
        call = await calls.get_call(db, uniqueid)
        if case is not None and call is not None and call.ended_at is not None:  # noqa: SIM102
            # a recorded request is shown once its transcript is on the draft
            if not call.recordings or await analysis.is_analysed(db, case.id):
                return case_line(call, await cases.get_case(db, case.id))
        await asyncio.sleep(0.5)
    return None


def case_line(call: CallView, case: CaseView) -> dict[str, Any]:
    """What the demo prints for one call: the case draft and how the call went."""
    fields = (
        "id",
        "status",
        "caller_number",
        "category",
        "department",
        "priority",
        "transcript",
        "transcript_available",
        "address",
        "contact_phone",
        "abandoned",
        "needs_callback",
    )
    line: dict[str, Any] = {"case": {name: getattr(case, name) for name in fields}}
    line["call"] = {
        "uniqueid": call.uniqueid,
        "outcome": call.outcome,
        "agent": call.agent,
        "wait_seconds": call.wait_seconds,
        "talk_seconds": call.talk_seconds,
        "recordings": [r.path for r in call.recordings],
        "intake_seconds": _seconds_between(call.started_at, call.queue_joined_at),
    }
    return line


def _seconds_between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds(), 2)


def _warn_without_model(settings: Settings) -> None:
    if not settings.vosk_model_path.exists():
        print(
            f"note: no speech model at {settings.vosk_model_path}: cases say the transcript "
            "is unavailable; install one with `ivr models pull zh-small`",
            file=sys.stderr,
        )


def _require_server(settings: Settings) -> None:
    url = f"http://{settings.web_host}:{settings.web_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as reply:
            ok = reply.status == 200
    except (urllib.error.URLError, OSError):
        ok = False
    if not ok:
        print(
            f"ivr serve is not ready at {url}: start it first (`make demo` does)", file=sys.stderr
        )
        raise IvrError("ivr server not ready")
