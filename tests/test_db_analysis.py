"""The IVR's late analysis lands on untouched drafts only; an agent's edits always win."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import analysis, calls, cases

pytest_plugins = ["tests.db_fixtures"]

ANALYSIS = {
    "transcript": "燃气泄漏了",
    "transcript_available": True,
    "category": "utilities",
    "department": "市燃气公司",
    "priority": "urgent",
    "summary": "燃气泄漏了",
    "address": None,
    "contact_phone": None,
}


async def _draft(db: async_sessionmaker[AsyncSession]) -> int:
    return await cases.create_blank_draft(db, call_uniqueid=None, caller_number="13800138000")


async def test_analysis_fills_an_untouched_draft_and_is_audited(
    db_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    case_id = await _draft(db_sessionmaker)
    assert not await analysis.is_analysed(db_sessionmaker, case_id)
    applied = await analysis.apply_analysis(db_sessionmaker, case_id, fields=ANALYSIS)
    case = await cases.get_case(db_sessionmaker, case_id)
    assert applied and case.priority == "urgent" and case.department == "市燃气公司"
    assert case.transcript == "燃气泄漏了" and case.events == 2
    assert await analysis.is_analysed(db_sessionmaker, case_id)


async def test_agent_edits_win_over_a_late_analysis(
    db_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    case_id = await _draft(db_sessionmaker)
    version = (await cases.get_case(db_sessionmaker, case_id)).version
    await cases.register_case(
        db_sessionmaker,
        case_id,
        actor="agent:li",
        expected_version=version,
        edits={"category": "housing", "department": "市住建局"},
    )
    applied = await analysis.apply_analysis(db_sessionmaker, case_id, fields=ANALYSIS)
    case = await cases.get_case(db_sessionmaker, case_id)
    assert not applied
    assert case.category == "housing" and case.department == "市住建局"
    assert case.transcript == "燃气泄漏了"  # nobody had typed one, so the words are kept
    assert await analysis.is_analysed(db_sessionmaker, case_id)


async def test_missing_model_reason_is_recorded(
    db_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    case_id = await _draft(db_sessionmaker)
    fields = {"transcript": "", "transcript_available": False}
    await analysis.apply_analysis(
        db_sessionmaker,
        case_id,
        fields=fields,
        note="speech model not installed",
    )
    assert await analysis.is_analysed(db_sessionmaker, case_id)
    case = await cases.get_case(db_sessionmaker, case_id)
    assert case.transcript_available is False and case.events == 2


async def test_the_ivrs_own_callback_flag_does_not_block_the_analysis(
    db_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A caller who gives up in the queue before decoding ends still gets a classified draft."""
    uniqueid = f"an-{uuid.uuid4().hex[:12]}"
    at = datetime.now(UTC)
    await calls.open_call(
        db_sessionmaker,
        uniqueid=uniqueid,
        channel="Local/x",
        caller_number="13800138000",
        started_at=at,
    )
    case_id = await cases.create_blank_draft(
        db_sessionmaker, call_uniqueid=uniqueid, caller_number="13800138000"
    )
    await calls.record_queue_join(db_sessionmaker, uniqueid, at=at, queue="q")
    await calls.record_abandon(db_sessionmaker, uniqueid, at=at, wait_seconds=3.0)
    assert (await cases.get_case(db_sessionmaker, case_id)).needs_callback
    assert await analysis.apply_analysis(db_sessionmaker, case_id, fields=ANALYSIS)
    case = await cases.get_case(db_sessionmaker, case_id)
    assert case.priority == "urgent" and case.needs_callback
