"""回访 through the real Asterisk 22: the system calls the citizen back after the reply, the
citizen answers on the keypad or in words, and the case closes or goes back for rework.

Simulated citizens (extensions_sim.conf, [citizen-sim]) press the last two digits of their
number: 13800000011 says solved and satisfied, 13800000023 not solved and unsatisfied;
numbers starting with 9 never answer.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from ivr.app import IvrRuntime
from ivr.db import cases
from ivr.db.followups import round_attempts
from ivr.db.models import CaseEventKind
from ivr.db.workflow_models import CaseSurvey
from ivr.followup.dialer import call_citizen
from ivr.speech.audio import wav_duration
from ivr.speech.tts import KOREAN_VOICE, synthesize_clip
from tests.followup_fixtures import replied_case
from tests.stack import Citizens, eventually
from tests.test_db_cases import events_of

pytestmark = pytest.mark.asterisk


async def test_a_satisfied_citizen_closes_the_case(runtime: IvrRuntime, citizens: Citizens) -> None:
    assert runtime.services is not None and runtime.ami is not None
    intro = runtime.settings.prompts_dir / "followup_intro.wav"
    assert wav_duration(intro) < 7.5, "the simulated citizen keys 8 s after answering"
    case_id = await replied_case(runtime, "13800000011")
    attempt = await call_citizen(
        runtime.ami, runtime.settings, runtime.services.db, case_id, at=datetime.now(UTC)
    )
    assert attempt.answered
    await _surveyed(runtime, case_id)
    case = await cases.get_case(runtime.services.db, case_id)
    assert case.status == "followed_up"
    survey = await _survey(runtime, case_id)
    assert (survey.resolved, survey.satisfaction, survey.reopened) == (True, "satisfied", False)


async def test_an_unsatisfied_citizen_sends_it_back_for_rework(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    assert runtime.services is not None and runtime.ami is not None
    case_id = await replied_case(runtime, "13800000023")
    attempt = await call_citizen(
        runtime.ami, runtime.settings, runtime.services.db, case_id, at=datetime.now(UTC)
    )
    assert attempt.answered
    await _surveyed(runtime, case_id)
    case = await cases.get_case(runtime.services.db, case_id)
    assert case.status == "dispatched", "back to the department"
    survey = await _survey(runtime, case_id)
    assert (survey.resolved, survey.satisfaction, survey.reopened) == (False, "unsatisfied", True)
    assert survey.citizen_words  # their (silent) reason, noted


async def test_a_citizen_who_does_not_answer_is_counted_for_manual_follow_up(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    assert runtime.services is not None and runtime.ami is not None
    db = runtime.services.db
    case_id = await replied_case(runtime, "9138000000")
    attempt = await call_citizen(runtime.ami, runtime.settings, db, case_id, at=datetime.now(UTC))
    assert not attempt.answered
    assert (await cases.get_case(db, case_id)).status == "replied"
    assert await round_attempts(db, case_id) == 1
    kinds = [e.kind for e in await events_of(db, case_id)]
    assert CaseEventKind.FOLLOW_UP_UNANSWERED in kinds


async def test_a_citizen_who_answers_in_words_is_understood(
    runtime: IvrRuntime, citizens: Citizens
) -> None:
    assert runtime.services is not None and runtime.ami is not None
    settings = runtime.settings
    # 13700000001 says sim-say-1 over and over and never presses a key
    await asyncio.to_thread(
        synthesize_clip, "네", settings.prompts_dir / "sim-say-1.wav", voice=KOREAN_VOICE
    )
    case_id = await replied_case(runtime, "13700000001")
    attempt = await call_citizen(
        runtime.ami, settings, runtime.services.db, case_id, at=datetime.now(UTC)
    )
    assert attempt.answered
    await _surveyed(runtime, case_id)
    survey = await _survey(runtime, case_id)
    assert (survey.resolved, survey.satisfaction, survey.reopened) == (True, "satisfied", False)
    kept = settings.recordings_dir / "followup" / str(case_id)
    assert sorted(p.name.split("-")[0] for p in kept.glob("*.wav")) == [
        "resolved",
        "satisfaction",
    ], "each spoken answer is kept"


async def _surveyed(runtime: IvrRuntime, case_id: int) -> None:
    """Until the survey (running on the answered call) is recorded."""
    assert runtime.services is not None
    db = runtime.services.db

    async def moved_on() -> bool:
        return (await cases.get_case(db, case_id)).status != "replied"

    await eventually(moved_on, 60, "the citizen's answers recorded")


async def _survey(runtime: IvrRuntime, case_id: int) -> CaseSurvey:
    assert runtime.services is not None
    async with runtime.services.db() as session:
        query = select(CaseSurvey).where(CaseSurvey.case_id == case_id).order_by(CaseSurvey.id)
        found = (await session.scalars(query)).all()
    assert found, "no survey recorded"
    return found[-1]
