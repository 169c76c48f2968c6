"""Placing a follow-up call: AMI Originate to the citizen, the survey flow when they answer.

Each attempt leaves an audit entry on the case (called; unanswered with Asterisk's reason),
so the attempts are counted from the audit trail and a case whose citizen never answers
shows up on the manual follow-up list. Originate is never replayed after an AMI reconnect
(ivr.ami.client): a citizen is never rung twice by accident.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import structlog

from ivr.db import followups
from ivr.db.calls import Sessions
from ivr.dialplans import variables
from ivr.errors import AmiError
from ivr.handlers.agent_presence import AmiLink
from ivr.settings import Settings

log = structlog.get_logger(__name__)

# Asterisk's OriginateResponse reasons (AST_CONTROL_*): what an unanswered attempt means
REASONS = {"0": "failed", "1": "hung up", "3": "no answer", "5": "busy", "8": "congested"}
FOLLOWUP_CONTEXT = "followup"


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One follow-up call attempt."""

    case_id: int
    number: str
    answered: bool
    reason: str  # "answered", or why not


async def call_citizen(
    ami: AmiLink,
    settings: Settings,
    sm: Sessions,
    case_id: int,
    *,
    at: datetime,
    seen_attempts: int | None = None,
) -> Attempt:
    """Ring the citizen of a replied case; returns once they answered (the survey then runs
    on the call, ivr.dialplans.followup) or the call failed. `seen_attempts`: see
    `ivr.db.followups.claim_call` (the scheduler passes it, the office's button does not)."""
    number = await followups.claim_call(sm, case_id, at=at, seen_attempts=seen_attempts)
    answered, reason = await _originate(ami, settings, case_id, number)
    if not answered:
        await followups.note_unanswered(sm, case_id, at=at, reason=reason)
    log.info("followup_call", case_id=case_id, answered=answered, reason=reason)
    return Attempt(case_id, number, answered, reason)


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
        # Async: Asterisk answers at once and reports the outcome in OriginateResponse; a
        # synchronous Originate would hold the manager session (and its pings) meanwhile,
        # and a ring longer than two ping intervals would look like a dead link
        "Async": "true",
    }
    try:
        await ami.action(fields, timeout=settings.followup_ring_seconds + 15)
    except AmiError as exc:
        return False, _reason(str(exc))
    return True, "answered"


def _reason(error: str) -> str:
    found = re.search(r"[Rr]eason[:=]\s*(\d+)", error)
    return REASONS.get(found.group(1), error) if found else error
