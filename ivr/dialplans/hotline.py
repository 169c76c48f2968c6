"""The citizen's intake: welcome, record the request, transcribe, classify, open a draft.

The dialplan sends the call to the agent queue when this returns, whatever happened here;
a caller who hangs up while speaking still leaves the audio and a draft marked for callback.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.exc import SQLAlchemyError

from ivr.agi.channel import AgiChannel
from ivr.cases.draft import case_draft
from ivr.db import analysis, calls, cases
from ivr.db import duty as duty_db
from ivr.dialplans import variables
from ivr.dialplans.leader_route import LeaderRoute
from ivr.dialplans.prompting import say
from ivr.dialplans.streamed import StreamedCapture
from ivr.duty.model import Duty
from ivr.errors import AgiCommandFailed, IvrError, SpeechError
from ivr.services import Services
from ivr.speech.asr import Transcript

log = structlog.get_logger(__name__)

SKIP_TO_AGENT = "0"
END_OF_REQUEST = "#"
MIN_AUDIO_SECONDS = 0.3  # below this a hung-up caller said nothing worth a draft


@dataclass(frozen=True)
class RequestAudio:
    """The caller's recorded request and how the recording ended."""

    path: Path
    seconds: float
    complete: bool  # False when the caller hung up while speaking
    transcript: Transcript | None = None  # known already when the request was streamed


async def hotline(channel: AgiChannel, *, services: Services) -> None:
    """FastAGI route `hotline`: the 12345 intake flow."""
    await HotlineIntake(channel, services).execute()


class HotlineIntake:
    """One call's intake, as a list of small steps."""

    def __init__(self, channel: AgiChannel, services: Services) -> None:
        self.channel = channel
        self.services = services
        self.settings = services.settings
        self.uniqueid = channel.headers.uniqueid
        self.caller = variables.known_caller(channel.headers.caller)
        self.case_id: int | None = None  # drafted early when partial transcripts arrive

    async def execute(self) -> None:
        """Run the intake; only a hang-up before any audio ends it without a draft."""
        await self.open_call_record()
        await self.channel.set_var(variables.ROUTE, variables.ROUTE_QUEUE)
        duty = await self.duty_now()
        skipped = duty is not None and await self._prompt("leader_day") == SKIP_TO_AGENT
        audio = None if skipped else await self.take_request()
        if audio is not None and not audio.complete and audio.seconds < MIN_AUDIO_SECONDS:
            log.info("intake_hung_up_silent")
            return
        case_id = await self.open_draft(audio)
        if audio is not None and audio.transcript is not None:
            await self.analyse(case_id, audio)  # streamed: the words are there already
        elif audio is not None and audio.seconds > 0:
            # the caller goes to the queue now; the transcript follows while they wait
            work = self.analyse(case_id, audio)
            self.services.background.spawn(work, f"analyse-{case_id}")
        if self.channel.hung_up:
            return
        await self.channel.set_var(variables.CASE_ID, str(case_id))
        if duty is not None:
            await LeaderRoute(self.channel, self.services, duty, case_id).execute()

    async def duty_now(self) -> Duty | None:
        """The leader on duty now, if any; a schedule that cannot be read means no leader."""
        try:
            duty = await duty_db.duty_now(self.services.db, self.services.clock())
        except (SQLAlchemyError, IvrError) as exc:
            log.error("duty_lookup_failed", error=str(exc))  # the agents take the call
            return None
        if duty is not None:
            log.info("leader_on_duty", leader=duty.leader.name, shift_id=duty.shift.id)
        return duty

    async def open_call_record(self) -> None:
        """Create (or find) this call's record before anything can go wrong."""
        await calls.open_call(
            self.services.db,
            uniqueid=self.uniqueid,
            channel=self.channel.headers.channel,
            caller_number=self.caller,
            started_at=self.services.clock(),
            stage="intake",
        )

    async def take_request(self) -> RequestAudio | None:
        """Welcome, beep and recording; None when the caller skipped or nothing was recorded."""
        if await self._prompt("welcome") == SKIP_TO_AGENT:
            log.info("intake_skipped_by_caller")
            return None
        # everything slow happens before the beep: callers start talking right after it
        path = recording_path(
            self.settings.calls_dir, self.services.clock(), self.uniqueid, self.settings.timezone
        )
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await calls.set_stage(self.services.db, self.uniqueid, "recording")
        if await self._prompt("beep") == SKIP_TO_AGENT:
            log.info("intake_skipped_by_caller")
            return None
        streamed = await self.stream_request(path)
        return streamed if streamed is not None else await self.record_request(path)

    async def stream_request(self, path: Path) -> RequestAudio | None:
        """The request over AudioSocket, transcribed as it comes; None: record it instead."""
        server = self.services.audiosocket
        if not self.settings.streaming_asr or server is None or not server.listening:
            return None
        streamed = await StreamedCapture(self.channel, self.services, server).capture(
            path, self._partial
        )
        if streamed is None:
            return None
        log.info("request_streamed", ended_by=streamed.ended_by, seconds=streamed.seconds)
        if streamed.ended_by == SKIP_TO_AGENT and streamed.seconds < MIN_AUDIO_SECONDS:
            return None
        if streamed.path is not None:
            await self._attach(streamed.path, streamed.seconds, streamed.complete)
        return RequestAudio(path, streamed.seconds, streamed.complete, streamed.transcript)

    async def _partial(self, text: str) -> None:
        # the words so far, on the draft (opened now if need be) and on any console showing it
        if self.case_id is None:
            self.case_id = await self.open_draft(None)
        if await analysis.note_partial(self.services.db, self.case_id, text):
            await self.services.case_changed(self.case_id)

    async def _prompt(self, name: str) -> str | None:
        # every intake prompt lets the caller press 0 for an agent
        return await say(self.channel, self.settings, name, SKIP_TO_AGENT)

    async def record_request(self, path: Path) -> RequestAudio | None:
        """Record until silence, '#', '0' or the maximum length; keep audio on hang-up."""
        try:
            result = await self.channel.record(
                path.with_suffix(""),
                escape_digits=END_OF_REQUEST + SKIP_TO_AGENT,
                max_seconds=self.settings.record_max_seconds,
                silence_seconds=self.settings.record_silence_seconds,
            )
        except AgiCommandFailed as exc:
            log.error("recording_failed", error=str(exc))  # the agent still gets a draft
            return None
        log.info("request_recorded", ended_by=result.digit or result.reason)
        audio = RequestAudio(path, result.seconds, complete=result.reason != "hangup")
        if audio.seconds > 0:
            await self._attach(path, audio.seconds, audio.complete)
        return audio

    async def _attach(self, path: Path, seconds: float, complete: bool) -> None:
        await calls.attach_recording(
            self.services.db,
            self.uniqueid,
            path=str(path.relative_to(self.settings.recordings_dir)),
            sample_rate=8000,
            duration_seconds=seconds,
            complete=complete,
        )

    async def open_draft(self, audio: RequestAudio | None) -> int:
        """Save the case draft at once, before any transcription; return its id."""
        hung_up = audio is not None and not audio.complete
        if self.case_id is not None:  # drafted while the caller was still speaking
            if hung_up:
                await analysis.mark_hung_up(
                    self.services.db, self.case_id, at=self.services.clock()
                )
            return self.case_id
        suggestion = case_draft("", self.services.taxonomy, repeat_caller=await self._repeat())
        case_id = await cases.create_draft(
            self.services.db,
            call_uniqueid=self.uniqueid,
            caller_number=self.caller or "",
            transcript="",
            transcript_available=False,
            category=suggestion.category_code,
            department=suggestion.department,
            priority=suggestion.priority_code,
            summary="",
            address=None,
            contact_phone=None,
            abandoned=hung_up,
            needs_callback=hung_up,
        )
        log.info("case_draft_created", case_id=case_id, hung_up=hung_up)
        return case_id

    async def analyse(self, case_id: int, audio: RequestAudio) -> None:
        """Transcribe (unless streamed) and classify the request, then fill in the draft."""
        transcript = audio.transcript or await self._transcribe(case_id, audio.path)
        suggestion = case_draft(
            transcript.text, self.services.taxonomy, repeat_caller=await self._repeat(case_id)
        )
        fields = {
            "transcript": transcript.text,
            "transcript_available": transcript.available,
            "category": suggestion.category_code,
            "department": suggestion.department,
            "priority": suggestion.priority_code,
            "summary": suggestion.summary,
            "address": suggestion.address,
            "contact_phone": suggestion.phone,
        }
        applied = await analysis.apply_analysis(
            self.services.db,
            case_id,
            fields=fields,
            note=transcript.reason,
        )
        await self.services.case_changed(case_id)  # an agent may be looking at it already
        log.info(
            "case_draft_analysed",
            case_id=case_id,
            category=suggestion.category_code,
            priority=suggestion.priority_code,
            transcript_available=transcript.available,
            decode_seconds=round(transcript.decode_seconds, 2),
            applied=applied,
        )

    async def _transcribe(self, case_id: int, path: Path) -> Transcript:
        try:
            return await self.services.transcriber.transcribe(path)
        except SpeechError as exc:
            log.error("transcription_failed", case_id=case_id, error=str(exc))
            return Transcript(text="", available=False, reason=f"transcription failed: {exc}")

    async def _repeat(self, this_case: int | None = None) -> bool:
        # a caller with another open case is calling again: 重要件 by the taxonomy's rule
        if self.caller is None:  # withheld numbers have no history of their own
            return False
        history = await cases.caller_history(
            self.services.db, self.caller, limit=5, exclude_case_id=this_case
        )
        return any(case.is_open for case in history)


def recording_path(calls_dir: Path, at: datetime, uniqueid: str, timezone: str) -> Path:
    """recordings/calls/YYYY/MM/DD/<uniqueid>.wav, the date as the hotline's city sees it."""
    local = at.astimezone(ZoneInfo(timezone))
    safe_id = "".join(c for c in uniqueid if c.isalnum() or c in ".-_") or "unknown"
    return calls_dir / f"{local:%Y/%m/%d}" / f"{safe_id}.wav"
