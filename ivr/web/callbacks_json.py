"""The call-back list as the console's JSON, with reporters' numbers masked for the viewer.

A number is shown unless one of the caller's cases is a report (检举/举报) that the viewer may
not see the reporter of (ivr.cases.masking): the office always may, an agent only while they
hold that draft. The agent does not need the number to call back: the server dials it from the
call's id, and the agent's phone shows 12345.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ivr.cases.masking import masked, may_see_identity, redact
from ivr.db.callback_views import AttemptView, CallbackRow, CaseBrief, Miss, MissKind
from ivr.db.models import Role
from ivr.db.users import UserView
from ivr.web.case_json import iso


def may_see(viewer: UserView, cases: Iterable[CaseBrief | None]) -> bool:
    """Whether the viewer may see the number of a caller with these cases."""
    return all(
        may_see_identity(
            viewer.role, holds_case=case.claimed_by == viewer.username, status=case.status
        )
        for case in cases
        if case is not None and case.whistleblower
    )


def row_json(row: CallbackRow, viewer: UserView, now: datetime) -> dict[str, Any]:
    """One caller owed a call back."""
    latest, cases = row.misses[0], row.cases
    calling = row.calling(now)
    waits = [m.wait_seconds for m in row.misses if m.wait_seconds is not None]
    fields: dict[str, Any] = {
        "call_id": latest.call_id,
        "case_id": None if latest.case is None else latest.case.id,
        "caller_number": row.number,
        "summary": cases[0].summary if cases else "",
        "gave_up": row.gave_up,
        "requested": any(m.kind is MissKind.REQUESTED for m in row.misses),
        "last_at": iso(latest.at),
        "first_at": iso(row.misses[-1].at),
        "longest_wait_seconds": max(waits, default=None),
        "misses": [_miss_json(miss) for miss in row.misses],
        "case": None if not cases else _case_json(cases[0]),
        "attempts": len(row.attempts),
        "last_attempt": None if not row.attempts else _attempt_fields(row.attempts[0], now),
        "calling_agent": None if calling is None else calling.agent,
    }
    whistleblower = any(case.whistleblower for case in cases)
    shown = masked(fields, whistleblower=whistleblower, visible=may_see(viewer, cases))
    last = fields["last_attempt"]
    if shown["identity_masked"] and last is not None:
        shown["last_attempt"] = _without_number(last, row.number)
    return shown


def attempt_json(
    attempt: AttemptView, viewer: UserView, now: datetime, *, listed: bool
) -> dict[str, Any]:
    """A call back, with whether the caller is still on the list and the viewer may edit it."""
    fields = {"caller_number": attempt.number, **_attempt_fields(attempt, now)}
    fields["on_list"] = listed
    fields["editable"] = viewer.role is Role.OFFICE or attempt.agent == viewer.username
    whistleblower = attempt.case is not None and attempt.case.whistleblower
    shown = masked(fields, whistleblower=whistleblower, visible=may_see(viewer, [attempt.case]))
    return _without_number(shown, attempt.number) if shown["identity_masked"] else shown


def _without_number(attempt: dict[str, Any], number: str) -> dict[str, Any]:
    # the agent's note may repeat the reporter's number, or another one they gave; a note
    # shown redacted is not offered for editing (saving it would lose the original)
    note = attempt.get("note")
    if not isinstance(note, str):
        return attempt
    shown = redact(note, [number])
    return attempt | {"note": shown, "note_redacted": shown != note}


def _attempt_fields(attempt: AttemptView, now: datetime) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "call_id": attempt.call_id,
        "case_id": attempt.case_id,
        "agent": attempt.agent,
        "started_at": iso(attempt.started_at),
        "ended_at": iso(attempt.ended_at),
        "outcome": attempt.outcome.value,
        "in_progress": attempt.in_progress(now),
        "note": attempt.note,
    }


def _miss_json(miss: Miss) -> dict[str, Any]:
    return {
        "kind": miss.kind.value,
        "at": iso(miss.at),
        "call_id": miss.call_id,
        "wait_seconds": miss.wait_seconds,
    }


def _case_json(case: CaseBrief) -> dict[str, Any]:
    return {
        "id": case.id,
        "number": case.number,
        "status": case.status.value,
        "category": case.category,
        "priority": case.priority.value,
        "whistleblower": case.whistleblower,
    }
