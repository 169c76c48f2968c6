"""Streaming transcription through the real Asterisk 22: AudioSocket carries the caller's voice
to the ivr process while they speak, and the case has its transcript before the queue.

The other call-flow tests (tests/test_call_flow.py) stream too: there the hang-up mid-sentence
and the # key are checked; here, what only streaming promises, and the fallback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from ivr.app import IvrRuntime
from ivr.db import calls, cases
from ivr.db.models import CaseEventKind
from ivr.dialplans.streamed import StreamedCapture
from ivr.sim.calls import CallScript
from ivr.sim.demo import prompt_delay
from ivr.speech.audio import wav_duration
from tests.stack import Citizens, eventually
from tests.test_db_cases import events_of

pytestmark = pytest.mark.asterisk


async def _call_and_settle(runtime: IvrRuntime, citizens: Citizens, clip: Path) -> str:
    script = CallScript(clip=clip, delay_seconds=prompt_delay(runtime.settings))
    call = await citizens.sim.place(script)
    await citizens.sim.wait_ended(call, 90)
    assert runtime.services is not None
    db = runtime.services.db

    async def closed() -> bool:
        view = await calls.get_call(db, call.uniqueid)
        return view is not None and view.ended_at is not None

    await eventually(closed, 15, "the call record closed")
    return call.uniqueid


async def test_the_transcript_is_on_the_draft_before_the_caller_joins_the_queue(
    runtime: IvrRuntime, citizens: Citizens, request_clip: Path
) -> None:
    assert runtime.services is not None
    db = runtime.services.db
    with capture_logs(processors=[merge_contextvars]) as logs:
        uniqueid = await _call_and_settle(runtime, citizens, request_clip)
    streamed = [e for e in logs if e["event"] == "request_streamed"]
    assert [e.get("uniqueid") for e in streamed] == [uniqueid]
    view = await calls.get_call(db, uniqueid)
    case = await cases.case_for_call(db, uniqueid)
    assert view is not None and case is not None and view.queue_joined_at is not None
    analysed = [e for e in await events_of(db, case.id) if e.kind == CaseEventKind.ANALYSED]
    assert len(analysed) == 1 and analysed[0].at <= view.queue_joined_at
    assert case.transcript_available and case.transcript
    audio = runtime.settings.recordings_dir / view.recordings[0].path
    assert wav_duration(audio) >= wav_duration(request_clip.with_suffix(".wav"))


async def test_when_asterisk_cannot_reach_the_stream_the_request_is_recorded(
    runtime: IvrRuntime,
    citizens: Citizens,
    request_clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert runtime.services is not None
    # nothing listens there: Asterisk's AudioSocket() fails to connect for this call
    real_init = StreamedCapture.__init__

    def unreachable(self: StreamedCapture, *args: object) -> None:
        real_init(self, *args)  # type: ignore[arg-type]
        self.address = "127.0.0.1:9"

    monkeypatch.setattr(StreamedCapture, "__init__", unreachable)
    with capture_logs(processors=[merge_contextvars]) as logs:
        uniqueid = await _call_and_settle(runtime, citizens, request_clip)
    mine = [e["event"] for e in logs if e.get("uniqueid") == uniqueid]
    assert "audiosocket_fallback_to_record" in mine and "request_recorded" in mine
    view = await calls.get_call(runtime.services.db, uniqueid)
    assert view is not None and view.outcome == "answered" and view.recordings
    case = await cases.case_for_call(runtime.services.db, uniqueid)
    assert case is not None

    async def transcribed() -> bool:
        fresh = await cases.get_case(runtime.services.db, case.id)  # type: ignore[union-attr]
        return fresh.transcript_available

    await eventually(transcribed, 30, "the recorded request transcribed afterwards")
