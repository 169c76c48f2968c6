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

from ivr.agi.channel import AgiChannel
from ivr.cases.draft import case_draft
from ivr.db import analysis, calls, cases
from ivr.dialplans import variables
from ivr.errors import CallerHungUp
from ivr.services import Services
from ivr.speech.audio import wav_duration

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
        self.caller = _caller_number(channel.headers.caller)

    async def execute(self) -> None:
        """Run the intake; only a hang-up before any audio ends it without a draft."""
        await self.open_call_record()
        await self.channel.set_var(variables.ROUTE, variables.ROUTE_QUEUE)
        skipped = await self.play_welcome()
        audio = None if skipped else await self.record_request()
        if audio is not None and not audio.complete and audio.seconds < MIN_AUDIO_SECONDS:
            log.info("intake_hung_up_silent")
            return
        case_id = await self.open_draft(audio)
        if audio is not None and audio.seconds > 0:
            # the caller goes to the queue now; the transcript follows while they wait
            self.services.background.spawn(self.analyse(case_id, audio), f"analyse-{case_id}")
        if not self.channel.hung_up:
            await self.channel.set_var(variables.CASE_ID, str(case_id))

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

    async def play_welcome(self) -> bool:
        """Welcome prompt and beep; True when the caller pressed 0 to skip to an agent."""
        prompts = self.settings.prompts_dir
        key = await self.channel.play(prompts / "welcome", escape_digits=SKIP_TO_AGENT)
        if key != SKIP_TO_AGENT:
            key = await self.channel.play(prompts / "beep", escape_digits=SKIP_TO_AGENT)
        if key == SKIP_TO_AGENT:
            log.info("intake_skipped_by_caller")
        return key == SKIP_TO_AGENT

    async def record_request(self) -> RequestAudio:
        """Record until silence, '#', '0' or the maximum length; keep audio on hang-up."""
        path = recording_path(
            self.settings.calls_dir, self.services.clock(), self.uniqueid, self.settings.timezone
        )
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        await calls.set_stage(self.services.db, self.uniqueid, "recording")
        complete = True
        try:
            result = await self.channel.record(
                path.with_suffix(""),
                escape_digits=END_OF_REQUEST + SKIP_TO_AGENT,
                max_seconds=self.settings.record_max_seconds,
                silence_seconds=self.settings.record_silence_seconds,
            )
            log.info("request_recorded", ended_by=result.digit or result.reason)
        except CallerHungUp:
            complete = False
            log.info("caller_hung_up_while_recording")
        return await self._keep_recording(path, complete)

    async def _keep_recording(self, path: Path, complete: bool) -> RequestAudio:
        seconds = await asyncio.to_thread(_audio_seconds, path)
        if seconds > 0:
            await calls.attach_recording(
                self.services.db,
                self.uniqueid,
                path=str(path.relative_to(self.settings.recordings_dir)),
                sample_rate=8000,
                duration_seconds=seconds,
                complete=complete,
            )
        return RequestAudio(path, seconds, complete)

    async def open_draft(self, audio: RequestAudio | None) -> int:
        """Save the case draft at once, before any transcription; return its id."""
        suggestion = case_draft("", self.services.taxonomy, repeat_caller=await self._repeat())
        hung_up = audio is not None and not audio.complete
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
        """Transcribe and classify the request, then fill in the draft."""
        version = (await cases.get_case(self.services.db, case_id)).version
        transcript = await self.services.transcriber.transcribe(audio.path)
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
            expected_version=version,
            fields=fields,
            note=transcript.reason,
        )
        log.info(
            "case_draft_analysed",
            case_id=case_id,
            category=suggestion.category_code,
            priority=suggestion.priority_code,
            transcript_available=transcript.available,
            decode_seconds=round(transcript.decode_seconds, 2),
            applied=applied,
        )

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


def _audio_seconds(path: Path) -> float:
    return wav_duration(path) if path.exists() else 0.0


def _caller_number(callerid: str) -> str | None:
    return callerid if callerid and callerid not in ("unknown", "<unknown>") else None
