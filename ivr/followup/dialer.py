"""Placing a follow-up call: AMI Originate to the citizen, the survey flow when they answer.

Each attempt leaves an audit entry on the case (called; unanswered with Asterisk's reason),
so the attempts are counted from the audit trail and a case whose citizen never answers
shows up on the manual follow-up list. Originate is never replayed after an AMI reconnect
(ivr.ami.client): a citizen is never rung twice by accident.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import datetime

import structlog
from sqlalchemy import func, select

from ivr.db.calls import Sessions
from ivr.db.cases import get_case, lock_case
from ivr.db.models import CaseEvent, CaseEventKind, CaseStatus
from ivr.dialplans import variables
from ivr.errors import AmiError, ValidationError
from ivr.handlers.agent_presence import AmiLink
from ivr.settings import Settings

log = structlog.get_logger(__name__)

DIALLABLE = re.compile(r"^\+?[0-9]{3,20}$")
# Asterisk's OriginateResponse reasons (AST_CONTROL_*): what an unanswered attempt means
REASONS = {"0": "failed", "1": "hung up", "3": "no answer", "5": "busy", "8": "congested"}
SYSTEM = "followup"
FOLLOWUP_CONTEXT = "followup"


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One follow-up call attempt."""

    case_id: int
    number: str
    answered: bool
    reason: str  # "answered", or why not


async def call_citizen(
    ami: AmiLink, settings: Settings, sm: Sessions, case_id: int, *, at: datetime
) -> Attempt:
    """Ring the citizen of a replied case; returns once they answered (the survey then runs
    on the call, ivr.dialplans.followup) or the call failed."""
    case = await get_case(sm, case_id)
    if case.status != CaseStatus.REPLIED:
        raise ValidationError(
            f"case {case_id} is {case.status}: only replied cases are followed up"
        )
    number = (case.contact_phone or case.caller_number or "").strip()
    if not DIALLABLE.fullmatch(number):
        raise ValidationError(f"case {case_id} has no number to call back ({number!r})")
    await _note(sm, case_id, CaseEventKind.FOLLOW_UP_CALLED, at, {"number": number})
    answered, reason = await _originate(ami, settings, case_id, number)
    if not answered:
        details = {"number": number, "reason": reason}
        await _note(sm, case_id, CaseEventKind.FOLLOW_UP_UNANSWERED, at, details)
    log.info("followup_call", case_id=case_id, answered=answered, reason=reason)
    return Attempt(case_id, number, answered, reason)


async def attempts(sm: Sessions, case_id: int) -> int:
    """How many follow-up calls were placed for the case."""
    query = select(func.count(CaseEvent.id)).where(
        CaseEvent.case_id == case_id, CaseEvent.kind == CaseEventKind.FOLLOW_UP_CALLED.value
    )
    async with sm() as session:
        return int(await session.scalar(query) or 0)


async def _originate(
    ami: AmiLink, settings: Settings, case_id: int, number: str
) -> tuple[bool, str]:
    fields: dict[str, str | list[str]] = {
        "Action": "Originate",
        "Channel": settings.followup_dial.format(number=number),
        "Context": FOLLOWUP_CONTEXT,  # runs AGI(followup) once the citizen answers
        "Exten": "s",
        "Priority": "1",
        "CallerID": '"12345" <12345>',
        "Timeout": str(settings.followup_ring_seconds * 1000),
        "Variable": [f"{variables.CASE_ID}={case_id}"],
    }
    try:  # synchronous Originate: the reply comes when the citizen answers or it fails
        await ami.action(fields, timeout=settings.followup_ring_seconds + 15, as_list=False)
    except AmiError as exc:
        return False, _reason(str(exc))
    return True, "answered"


def _reason(error: str) -> str:
    found = re.search(r"[Rr]eason[:=]\s*(\d+)", error)
    return REASONS.get(found.group(1), error) if found else error


async def _note(
    sm: Sessions, case_id: int, kind: CaseEventKind, at: datetime, details: Mapping[str, object]
) -> None:
    async with sm.begin() as session:
        await lock_case(session, case_id)
        after = dict(details)
        session.add(CaseEvent(case_id=case_id, at=at, actor=SYSTEM, kind=kind.value, after=after))
