"""FastAGI route `followup`: 回访, the call back to a citizen after the department replied.

The dialer (ivr.followup) originates the call with IVR_CASE_ID set; when the citizen answers,
this flow says why we call, asks whether the problem was solved (1 yes / 2 no) and how
satisfied they are (1 satisfied / 2 basically / 3 not), each asked twice at most, and, when
they are not content, records their reason and transcribes it. A question is answered on
the keypad or in words: after the question the flow listens (a key still ends it) and
decodes what was said in vosk's grammar mode against the phrases of ivr.followup.answers.
The answers go to the case workflow: a content citizen closes it, anything else sends it
back for rework with their words. A citizen who hangs up or never answers a question
leaves the case as it was, with an audit entry, for an agent's manual follow-up.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import structlog

from ivr.agi.channel import AgiChannel
from ivr.db import followups, workflow_close
from ivr.db.workflow_state import Actor
from ivr.dialplans import variables
from ivr.dialplans.prompting import say
from ivr.errors import AgiCommandFailed, CallerHungUp
from ivr.followup.answers import answers_from_settings
from ivr.services import Services
from ivr.workflow.rules import WorkflowRules

log = structlog.get_logger(__name__)
T = TypeVar("T")

RESOLVED = {"1": True, "2": False}
SATISFACTION = {"1": "satisfied", "2": "basically_satisfied", "3": "unsatisfied"}
LISTEN_MAX_SECONDS = 6  # a spoken answer is a few words
LISTEN_SILENCE_SECONDS = 3  # quiet this long: they said nothing (or finished)
ASKS = 2
WORDS_MAX_SECONDS = 20
NO_WORDS = "市民未说明原因"


@dataclass(frozen=True)
class Answers:
    """What the citizen said on the keypad."""

    resolved: bool
    satisfaction: str

    @property
    def content(self) -> bool:
        """Solved and not unsatisfied: the case can close."""
        return self.resolved and self.satisfaction != "unsatisfied"


async def followup(channel: AgiChannel, *, services: Services) -> None:
    """The follow-up survey of the case in IVR_CASE_ID."""
    raw = await channel.get_var(variables.CASE_ID) or ""
    if not raw.isdigit():
        log.error("followup_without_case", value=raw)
        return
    await FollowUpSurvey(channel, services, int(raw)).execute()


class FollowUpSurvey:
    """One citizen's answers, as a list of small steps."""

    def __init__(self, channel: AgiChannel, services: Services, case_id: int) -> None:
        self.channel = channel
        self.services = services
        self.case_id = case_id
        self.answers = answers_from_settings(services.settings)
        # what the citizen said is kept, beside the case's other follow-up recordings
        self.folder = services.settings.recordings_dir / "followup" / str(case_id)

    async def execute(self) -> None:
        """Ask, record the answers, thank the citizen."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            # a citizen who knows the questions may answer the first during the introduction
            settings = self.services.settings
            early = await say(self.channel, settings, "followup_intro", "".join(RESOLVED))
            answers = await self.ask(early)
            words = None if answers is None or answers.content else await self.reason()
        except CallerHungUp:
            await self.unfinished("hung up during the survey")
            raise
        if answers is None:
            await self.unfinished("did not answer the questions")
            return
        await say(self.channel, self.services.settings, "followup_thanks")
        outcome = await workflow_close.record_follow_up(
            self.services.db,
            self.case_id,
            actor=Actor.system("followup"),
            at=self.services.clock(),
            rules=WorkflowRules.from_settings(self.services.settings),
            resolved=answers.resolved,
            satisfaction=answers.satisfaction,
            citizen_words=words,
        )
        log.info("followup_recorded", case_id=self.case_id, reopened=outcome.reopened)

    async def unfinished(self, reason: str) -> None:
        """The survey ended without answers: noted, so the call is tried again (or by hand)."""
        log.info("followup_unfinished", case_id=self.case_id, reason=reason)
        await followups.note_unanswered(
            self.services.db, self.case_id, at=self.services.clock(), reason=reason
        )

    async def ask(self, early: str | None = None) -> Answers | None:
        """The two questions (the first maybe answered `early`); None when the citizen did
        not answer one of them."""
        if early in RESOLVED:
            resolved: bool | None = RESOLVED[early]
        else:
            resolved = await self._choice("followup_resolved", "resolved", RESOLVED)
        if resolved is None:
            return None
        satisfaction = await self._choice("followup_satisfied", "satisfaction", SATISFACTION)
        return None if satisfaction is None else Answers(resolved, satisfaction)

    async def reason(self) -> str:
        """Why they are not content, in their own words (transcribed)."""
        await say(self.channel, self.services.settings, "followup_words")
        await say(self.channel, self.services.settings, "beep")
        path = self.folder / f"reason-{uuid.uuid4().hex[:8]}"
        try:
            result = await self.channel.record(
                path, escape_digits="#", max_seconds=WORDS_MAX_SECONDS, silence_seconds=3
            )
        except AgiCommandFailed as exc:
            log.error("followup_recording_failed", error=str(exc))
            return NO_WORDS
        if result.reason == "hangup":
            raise CallerHungUp("hung up while giving the reason")
        heard = await self.services.transcriber.transcribe(path.with_suffix(".wav"))
        return heard.text or f"{NO_WORDS}（录音 {path.with_suffix('.wav').name}）"

    async def _choice(self, prompt: str, question: str, choices: dict[str, T]) -> T | None:
        keys = "".join(choices)
        for attempt in range(ASKS):
            key = await say(self.channel, self.services.settings, prompt, keys)
            if key is None:
                key = await self.listen(question, keys, attempt)
            if key in choices:
                return choices[key]
        return None

    async def listen(self, question: str, keys: str, attempt: int) -> str | None:
        """The key pressed, or the key the citizen's words mean, after a question."""
        path = self.folder / f"{question}-{attempt + 1}-{uuid.uuid4().hex[:8]}"
        try:
            heard = await self.channel.record(
                path,
                escape_digits=keys,
                max_seconds=LISTEN_MAX_SECONDS,
                silence_seconds=LISTEN_SILENCE_SECONDS,
            )
        except AgiCommandFailed as exc:
            log.error("followup_listen_failed", error=str(exc))
            return await self.channel.wait_for_digit(LISTEN_MAX_SECONDS)
        if heard.reason == "hangup":
            raise CallerHungUp("hung up while answering")
        if heard.digit is not None:
            return heard.digit
        return await self._spoken(question, path.with_suffix(".wav"))

    async def _spoken(self, question: str, wav: Path) -> str | None:
        choices = self.answers.get(question)
        if choices is None:
            return None
        said = await self.services.transcriber.transcribe(wav, choices.grammar)
        key = choices.key_for(said.text) if said.available else None
        log.info("followup_spoken_answer", question=question, heard=said.text, key=key)
        return key
