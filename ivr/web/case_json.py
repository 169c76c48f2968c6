"""Cases and screen-pops as the console's JSON, with whistleblowers masked for the viewer.

One place builds what a page sees of a case, so the WebSocket pop, the case API and the
registration answer cannot disagree about what is masked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from ivr.cases.masking import masked, may_see_identity
from ivr.db import calls, cases, screen_pops
from ivr.db.calls import CallView, Sessions
from ivr.db.cases import CaseView
from ivr.db.models import Role
from ivr.db.screen_pops import PopView
from ivr.db.users import UserView

# What suggests knowledge-base articles for a case (ivr.web.kb_api.suggest, bound to a request).
Suggest = Callable[[Mapping[str, Any]], Awaitable[list[dict[str, Any]]]]
HISTORY_LIMIT = 10
CASE_FIELDS = (
    "id",
    "number",
    "status",
    "channel",
    "caller_number",
    "caller_name",
    "transcript",
    "transcript_available",
    "category",
    "department",
    "priority",
    "summary",
    "address",
    "contact_phone",
    "whistleblower",
    "abandoned",
    "needs_callback",
    "leader_handled",
    "claimed_by",
    "version",
    "created_at",
    "updated_at",
)


def iso(moment: datetime | None) -> str | None:
    """An ISO 8601 time with its offset, or None."""
    return moment.isoformat() if moment is not None else None


def case_json(case: CaseView, viewer: UserView, *, holds: bool) -> dict[str, Any]:
    """A case as `viewer` may see it (`holds`: the case is on their screen or claimed)."""
    raw = {name: getattr(case, name) for name in CASE_FIELDS}
    raw = {k: iso(v) if isinstance(v, datetime) else v for k, v in raw.items()}
    visible = may_see_identity(viewer.role, holds_case=holds, status=case.status)
    return masked(raw, whistleblower=case.whistleblower, visible=visible)


def history_json(history: list[CaseView], viewer: UserView) -> list[dict[str, Any]]:
    """A caller's earlier cases, short: what an agent needs to see at a glance.

    Reports (举报) are left out for everyone but the office: listing them under a number
    would tell who reported.
    """
    shown = [c for c in history if viewer.role is Role.OFFICE or not c.whistleblower]
    return [
        {
            "id": case.id,
            "number": case.number,
            "status": case.status.value,
            "category": case.category,
            "summary": case.summary or case.transcript[:80],
            "created_at": iso(case.created_at),
        }
        for case in shown
    ]


def call_json(call: CallView | None) -> dict[str, Any] | None:
    """What the console shows of the call behind a case: wait and talk timers' start."""
    if call is None:
        return None
    return {
        "uniqueid": call.uniqueid,
        "started_at": iso(call.started_at),
        "queue_joined_at": iso(call.queue_joined_at),
        "answered_at": iso(call.answered_at),
        "ended_at": iso(call.ended_at),
        "wait_seconds": call.wait_seconds,
        "outcome": call.outcome.value,
        "has_recording": bool(call.recordings),
    }


async def case_bundle(
    sm: Sessions, case: CaseView, viewer: UserView, *, holds: bool, call_uniqueid: str | None
) -> dict[str, Any]:
    """The case, the caller's other cases and the call: everything a pop or a form shows."""
    shown = case_json(case, viewer, holds=holds)
    history: list[CaseView] = []
    if not shown["identity_masked"] and case.caller_number:
        # a masked reporter's history would point at who they are
        history = await cases.caller_history(
            sm, case.caller_number, limit=HISTORY_LIMIT, exclude_case_id=case.id
        )
    call = await calls.get_call(sm, call_uniqueid) if call_uniqueid else None
    recording = f"/api/cases/{case.id}/recording" if call and call.recordings else None
    return {
        "case": shown,
        "history": history_json(history, viewer),
        "call": call_json(call),
        "recording_url": recording if not shown["identity_masked"] else None,
    }


async def pop_json(
    sm: Sessions, pop: PopView, viewer: UserView, suggest: Suggest | None = None
) -> dict[str, Any]:
    """A screen-pop message for the agent's page, with the knowledge-base articles `suggest`
    finds for the case as the viewer sees it."""
    case = await cases.get_case(sm, pop.case_id)
    bundle = await case_bundle(sm, case, viewer, holds=pop.is_open, call_uniqueid=pop.call_uniqueid)
    fields = dataclasses.asdict(pop)
    pop_fields = {k: iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
    suggestions = await suggest(bundle["case"]) if suggest is not None else []
    return {"type": "pop", "pop": pop_fields, **bundle, "suggestions": suggestions}


async def holds(sm: Sessions, viewer: UserView, case_id: int) -> bool:
    """Whether the case is the viewer's to work now."""
    return await screen_pops.holds_case(sm, viewer.username, case_id)
