"""The call-back list as the console's JSON, with reporters' numbers masked for the viewer.

A reporter (检举/举报) is protected by number, not by case: a number any report was filed from
is masked on its row and on every call back to it, for a viewer who may not see that report's
reporter (ivr.cases.masking: the office always may, an agent only while holding that draft).
Masked, a row shows only what the reports themselves show (the report's id, its summary
redacted, the misses that are reports) and sits in the list by their time: the number's
ordinary drafts, calls and times would lead to the same caller, shown with their number. The
agent calls back through the report's id (`may_call`); the server dials the number, and the
agent's phone shows 12345.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ivr.cases.masking import MASK, may_see_identity, redact
from ivr.db.callback_attempts import Target
from ivr.db.callback_views import (
    AttemptView,
    CallbackRow,
    Callers,
    CaseBrief,
    Miss,
    MissKind,
    Reports,
)
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


def may_call(viewer: UserView, reports: Sequence[CaseBrief], target: Target) -> bool:
    """Whether the viewer may call back a number with these reports through this target: one
    who may not see the number only through a report, as their masked row offers."""
    return may_see(viewer, reports) or target.case_id in {report.id for report in reports}


@dataclasses.dataclass(frozen=True)
class Reporters:
    """The reports filed from the numbers a response shows, and what identifies each caller."""

    reports: Reports
    given: Mapping[str, tuple[str, ...]]  # names and call-back numbers, by number

    @classmethod
    def of(
        cls, callers: Callers, rows: Iterable[CallbackRow], attempts: Iterable[AttemptView]
    ) -> Reporters:
        """The numbers' reports, and any among the rows' and call backs' own cases."""
        by_number = {n: {c.id: c for c in cases} for n, cases in callers.reports.items()}
        linked: list[tuple[str, CaseBrief | None]] = [(r.number, c) for r in rows for c in r.cases]
        linked += [(attempt.number, attempt.case) for attempt in attempts]
        for number, case in linked:
            if case is not None and case.whistleblower:
                by_number.setdefault(number, {})[case.id] = case
        reports = {number: tuple(cases.values()) for number, cases in by_number.items()}
        return cls(reports, callers.given)

    def hidden(self, number: str, viewer: UserView) -> bool:
        """Whether the number is a reporter's the viewer may not see."""
        return not may_see(viewer, self.reports.get(number, ()))

    def secrets(self, number: str) -> list[str]:
        """The number, and the names and call-back numbers any of its cases gives (once it is
        a reporter's number, a name given on an ordinary call from it is the reporter's)."""
        reports = self.reports.get(number, ())
        named = [value for r in reports for value in (r.caller_name, r.contact_phone) if value]
        return [number, *named, *self.given.get(number, ())]

    def target(self, row: CallbackRow) -> CaseBrief:
        """The report a masked row offers: the newest among its misses, else the newest filed."""
        on_row = [case for case in row.cases if case.whistleblower]
        return on_row[0] if on_row else max(self.reports[row.number], key=lambda r: r.id)


def list_json(
    rows: Sequence[CallbackRow],
    recent: Sequence[AttemptView],
    reporters: Reporters,
    viewer: UserView,
    now: datetime,
) -> dict[str, Any]:
    """The callers owed a call back, newest first as the viewer sees them, and the call backs."""
    shown = [(row, _misses_shown(row, reporters.hidden(row.number, viewer))) for row in rows]
    dated = sorted((s for s in shown if s[1]), key=lambda s: s[1][0].at, reverse=True)
    ordered = dated + [s for s in shown if not s[1]]
    listed = {row.number for row in rows}
    return {
        "items": [row_json(row, viewer, now, reporters) for row, _ in ordered],
        "recent": [
            attempt_json(attempt, viewer, now, listed=attempt.number in listed, reporters=reporters)
            for attempt in recent
        ],
    }


def row_json(
    row: CallbackRow, viewer: UserView, now: datetime, reporters: Reporters
) -> dict[str, Any]:
    """One caller owed a call back; a reporter's masked for a viewer who may not see them."""
    if reporters.hidden(row.number, viewer):
        report = reporters.target(row)
        last = row.attempts[0] if row.attempts else None
        return {
            "call_id": None,
            "case_id": report.id,
            "caller_number": MASK,
            "summary": redact(report.summary, reporters.secrets(row.number)),
            "case": _case_json(report),
            "last_attempt": None if last is None else _masked_attempt(last, now, reporters),
            "identity_masked": True,
            **_row_fields(row, _misses_shown(row, masked=True), now, masked=True),
        }
    latest, cases = row.misses[0], row.cases
    return {
        "call_id": latest.call_id,
        "case_id": None if latest.case is None else latest.case.id,
        "caller_number": row.number,
        "summary": cases[0].summary if cases else "",
        "case": None if not cases else _case_json(cases[0]),
        "last_attempt": None if not row.attempts else _attempt_fields(row.attempts[0], now),
        "identity_masked": False,
        **_row_fields(row, row.misses, now, masked=False),
    }


def attempt_json(
    attempt: AttemptView, viewer: UserView, now: datetime, *, listed: bool, reporters: Reporters
) -> dict[str, Any]:
    """A call back, with whether the caller is still on the list and the viewer may edit it."""
    hidden = reporters.hidden(attempt.number, viewer)
    fields = (
        _masked_attempt(attempt, now, reporters)
        if hidden
        else {"caller_number": attempt.number, **_attempt_fields(attempt, now)}
    )
    fields["on_list"] = listed
    fields["editable"] = viewer.role is Role.OFFICE or attempt.agent == viewer.username
    fields["identity_masked"] = hidden
    return fields


def _masked_attempt(attempt: AttemptView, now: datetime, reporters: Reporters) -> dict[str, Any]:
    # The call and case it is filed with lead to the number. The agent's note may repeat
    # it, the reporter's name or another number they gave; a note shown redacted is not
    # offered for editing (saving it would lose the original).
    fields = _attempt_fields(attempt, now) | {"caller_number": MASK, "call_id": None}
    fields["case_id"] = None
    if attempt.note is not None:
        shown = redact(attempt.note, reporters.secrets(attempt.number))
        fields |= {"note": shown, "note_redacted": shown != attempt.note}
    return fields


def _misses_shown(row: CallbackRow, masked: bool) -> tuple[Miss, ...]:
    # a masked row shows only the misses that are reports: the others are ordinary drafts
    # and calls, which other lists show with the number
    if not masked:
        return row.misses
    return tuple(m for m in row.misses if m.case is not None and m.case.whistleblower)


def _row_fields(
    row: CallbackRow, misses: Sequence[Miss], now: datetime, *, masked: bool
) -> dict[str, Any]:
    calling = row.calling(now)
    waits = [m.wait_seconds for m in misses if m.wait_seconds is not None]
    return {
        "gave_up": sum(1 for miss in misses if miss.kind is not MissKind.REQUESTED),
        "requested": any(m.kind is MissKind.REQUESTED for m in misses),
        "last_at": iso(misses[0].at) if misses else None,
        "first_at": iso(misses[-1].at) if misses else None,
        "longest_wait_seconds": max(waits, default=None),
        "misses": [_miss_json(miss, masked=masked) for miss in misses],
        "attempts": len(row.attempts),
        "calling_agent": None if calling is None else calling.agent,
    }


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


def _miss_json(miss: Miss, *, masked: bool) -> dict[str, Any]:
    return {
        "kind": miss.kind.value,
        "at": iso(miss.at),
        "call_id": None if masked else miss.call_id,
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
