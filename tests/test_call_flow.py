"""Citizens' calls through the real Asterisk 22, the real ivr runtime, vosk and SQLite.

Each test places calls the way a citizen would (Local channels into the 12345 context) and
checks what the hotline office would see afterwards: the call record, the audio, the case.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from ivr.app import IvrRuntime
from ivr.db import analysis, calls, cases
from ivr.db.calls import CallView
from ivr.dialplans.hotline import HotlineIntake
from ivr.sim.calls import CallScript, SimCall
from ivr.sim.demo import prompt_delay
from ivr.speech.asr import decode_raw
from ivr.speech.audio import wav_duration
from tests.speech_fixtures import cer
from tests.stack import Citizens, eventually

pytestmark = pytest.mark.asterisk

CALL_TIMEOUT = 90.0


async def _call(citizens: Citizens, runtime: IvrRuntime, **script: object) -> SimCall:
    defaults: dict[str, object] = {"delay_seconds": prompt_delay(runtime.settings)}
    call = await citizens.sim.place(CallScript(**{**defaults, **script}))  # type: ignore[arg-type]
    await citizens.sim.wait_ended(call, CALL_TIMEOUT)
    return call


async def _settled(runtime: IvrRuntime, uniqueid: str) -> CallView:
    """The call record once the hang-up has been written."""
    assert runtime.services is not None
    db = runtime.services.db

    async def ended() -> bool:
        view = await calls.get_call(db, uniqueid)
        return view is not None and view.ended_at is not None

    await eventually(ended, 15, f"call record of {uniqueid} closed")
    view = await calls.get_call(db, uniqueid)
    assert view is not None
    return view


async def test_full_call_leaves_case_transcript_recording_and_reaches_agent(
    runtime: IvrRuntime, citizens: Citizens, request_clip: Path
) -> None:
    call = await _call(citizens, runtime, caller="13800138001", clip=request_clip)
    view = await _settled(runtime, call.uniqueid)
    assert view.outcome == "answered" and view.agent and view.via_fallback is False
    assert view.caller_number == "13800138001"
    assert view.wait_seconds is not None and view.talk_seconds is not None
    assert runtime.services is not None
    db = runtime.services.db
    case = await cases.case_for_call(db, call.uniqueid)
    assert case is not None and case.status == "draft"

    async def analysed() -> bool:
        return await analysis.is_analysed(db, case.id)  # type: ignore[union-attr]

    await eventually(analysed, 30, "transcription of the request onto the draft")
    case = await cases.get_case(db, case.id)
    assert case.transcript_available
    audio = _audio(runtime, view)
    assert audio.exists() and wav_duration(audio) > wav_duration(request_clip.with_suffix(".wav"))
    # the case holds what vosk makes of the recorded request (espeak's robotic Korean is
    # barely recognised by the small model, so this compares with a direct decode; vosk's free
    # decoding varies slightly run to run, unrelated audio scores above 1)
    direct = decode_raw(runtime.settings.vosk_model_path, audio)
    assert case.transcript and cer([direct], [case.transcript]) < 0.5, (direct, case.transcript)
    # the agent's phone rang with the case id on the event (screen-pop hook)
    called = citizens.events_for(call.uniqueid, "AgentCalled")
    assert called and f"IVR_CASE_ID={case.id}" in str(called[0].get("ChanVariable"))


async def test_hash_key_ends_the_request(
    runtime: IvrRuntime, citizens: Citizens, request_clip: Path
) -> None:
    with capture_logs(processors=[merge_contextvars]) as logs:
        call = await _call(citizens, runtime, clip=request_clip, end="dtmf")
    view = await _settled(runtime, call.uniqueid)
    assert view.outcome == "answered"
    # streamed (AudioSocket) or recorded (RECORD FILE): the key ends it either way
    taken = [e for e in logs if e["event"] in ("request_recorded", "request_streamed")]
    assert [e["ended_by"] for e in taken if e.get("uniqueid") == call.uniqueid] == ["#"], [
        (e["event"], e.get("ended_by"), e.get("uniqueid")) for e in logs if "request" in e["event"]
    ]


async def test_flow_crash_still_reaches_an_agent_with_a_draft(
    runtime: IvrRuntime, citizens: Citizens, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: HotlineIntake, audio: object) -> int:
        raise RuntimeError("database went away")

    monkeypatch.setattr(HotlineIntake, "open_draft", broken)
    call = await _call(citizens, runtime, keys="0", delay_seconds=1.0)
    view = await _settled(runtime, call.uniqueid)
    assert view.outcome == "answered" and view.via_fallback
    assert runtime.services is not None
    case = await cases.case_for_call(runtime.services.db, call.uniqueid)
    assert case is not None, "the dialplan's fallback flag gives the agent a draft"


async def test_zero_skips_straight_to_an_agent_with_a_draft(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    call = await _call(citizens, runtime, keys="0", delay_seconds=1.0)
    view = await _settled(runtime, call.uniqueid)
    assert view.outcome == "answered" and view.recordings == ()
    assert runtime.services is not None
    case = await cases.case_for_call(runtime.services.db, call.uniqueid)
    assert case is not None and case.transcript == ""


async def test_hang_up_during_greeting_leaves_a_call_record(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    call = await _call(citizens, runtime, answer_timeout=1.0)  # gone before Answer()
    view = await _settled(runtime, call.uniqueid)
    assert view.outcome == "hung_up_in_ivr" and view.stage in ("greeting", "ended")
    assert runtime.services is not None
    assert await cases.case_for_call(runtime.services.db, call.uniqueid) is None


async def test_hang_up_during_welcome_prompt_leaves_a_record_without_a_case(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    call = await _call(citizens, runtime, hangup_after=1.5)  # the welcome prompt is 7 s long
    view = await _settled(runtime, call.uniqueid)
    assert view.outcome == "hung_up_in_ivr" and view.recordings == ()
    assert view.caller_number == "13800138000"
    assert runtime.services is not None
    assert await cases.case_for_call(runtime.services.db, call.uniqueid) is None


async def test_hang_up_while_speaking_keeps_audio_and_flags_callback(
    runtime: IvrRuntime, citizens: Citizens, request_clip: Path
) -> None:
    delay = prompt_delay(runtime.settings)
    call = await _call(citizens, runtime, clip=request_clip, hangup_after=delay + 1.2)
    view = await _settled(runtime, call.uniqueid)
    assert view.outcome == "hung_up_in_ivr"
    assert len(view.recordings) == 1 and view.recordings[0].complete is False
    audio = _audio(runtime, view)
    assert 0.5 < wav_duration(audio) < 2.0
    assert runtime.services is not None

    async def drafted() -> bool:
        return await cases.case_for_call(runtime.services.db, call.uniqueid) is not None  # type: ignore[union-attr]

    await eventually(drafted, 20, "draft for the hung-up caller")
    case = await cases.case_for_call(runtime.services.db, call.uniqueid)
    assert case is not None and case.abandoned and case.needs_callback
    # what was said before the hang-up was decoded (streamed, or recorded then transcribed)

    async def analysed() -> bool:
        return await analysis.is_analysed(runtime.services.db, case.id)  # type: ignore[union-attr]

    await eventually(analysed, 30, "the hung-up caller's words transcribed")
    case = await cases.get_case(runtime.services.db, case.id)
    assert case.transcript_available


async def test_hang_up_in_queue_is_abandoned_and_flagged(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    await _pause_agents(citizens, runtime, paused=True)
    try:
        call = await _call(citizens, runtime, keys="0", delay_seconds=0.5, hangup_after=4.0)
    finally:
        await _pause_agents(citizens, runtime, paused=False)
    view = await _settled(runtime, call.uniqueid)
    assert view.outcome == "abandoned" and view.needs_callback and view.agent is None
    assert citizens.events_for(call.uniqueid, "QueueCallerAbandon")
    assert runtime.services is not None
    case = await cases.case_for_call(runtime.services.db, call.uniqueid)
    assert case is not None and case.needs_callback


async def test_ivr_server_down_call_still_reaches_an_agent(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    await runtime.stop_agi()
    try:
        call = await _call(citizens, runtime, delay_seconds=0.5)
    finally:
        await runtime.start_agi()
    view = await _settled(runtime, call.uniqueid)
    assert view.via_fallback and view.outcome == "answered"
    assert runtime.services is not None
    case = await cases.case_for_call(runtime.services.db, call.uniqueid)
    assert case is not None and not case.transcript_available  # a draft for the agent to fill


def _audio(runtime: IvrRuntime, view: CallView) -> Path:
    assert len(view.recordings) == 1, view.recordings
    return runtime.settings.recordings_dir / view.recordings[0].path


async def _pause_agents(citizens: Citizens, runtime: IvrRuntime, *, paused: bool) -> None:
    for i in range(runtime.settings.sim_agents):
        await citizens.ami.action(
            {
                "Action": "QueuePause",
                "Queue": runtime.settings.queue_name,
                "Interface": f"Local/{8001 + i}@agents-sim/n",
                "Paused": str(paused).lower(),
                "Reason": "test",
            }
        )
