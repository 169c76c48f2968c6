"""The workflow's JSON: a case's file, a desk or board line, as the viewer may see them.

The case goes through `ivr.web.case_json.case_json`, so a whistleblower's identity is
masked exactly as everywhere else (a department never sees it). For a masked viewer the
free text the workflow adds (the citizen's words on a rework, notes, reasons) is redacted
the same way as the summary, and the audit trail shows no before/after values. The cases
of a merge (并单) are shown briefly, as in a list: number, status, summary, address, never
their callers.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ivr.cases.masking import IDENTITY_FIELDS, redact
from ivr.db.cases import CaseView
from ivr.db.models import CaseEventKind, Role
from ivr.db.users import UserView
from ivr.db.workflow_views import (
    AssignmentView,
    Board,
    CaseFile,
    DeskItem,
    EventView,
    ExtensionView,
)
from ivr.web.case_json import case_json, iso
from ivr.workflow.deadlines import is_overdue
from ivr.workflow.transitions import ACTION_LABELS, STATUS_LABELS
from ivr.workflow.urging import EVENT_LABELS as URGING_LABELS

K = CaseEventKind
EVENT_LABELS = {
    K.REGISTERED: "受理",
    K.DISPATCHED: "交办",
    K.ACCEPTED: "签收",
    K.RETURNED: "退单",
    K.RETURN_REJECTED: "驳回退单",
    K.REDISPATCHED: "改派",
    K.EXTENSION_REQUESTED: "申请延期",
    K.EXTENSION_APPROVED: "批准延期",
    K.EXTENSION_DENIED: "驳回延期",
    K.NOTE_ADDED: "办理进展",
    K.REPLIED: "回复",
    K.FOLLOWED_UP: "回访",
    K.REOPENED: "重新办理",
    K.ARCHIVED: "归档",
    **URGING_LABELS,
}
# The intake's own entries, which only the office reads in a case's trail.
INTAKE_LABELS = {
    K.CREATED: "生成草稿",
    K.EDITED: "修改",
    K.STATUS_CHANGED: "状态变更",
    K.ANALYSED: "语音分析",
    K.CLAIMED: "认领",
    K.RELEASED: "放回队列",
    K.CALL_ABANDONED: "排队中挂机",
    K.CALL_ANSWERED: "接通",
    K.LEADER_ROUTED: "转领导接听",
    K.LEADER_BUSY: "领导线路忙",
    K.LEADER_ANSWERED: "领导接听",
    K.LEADER_FELL_BACK: "领导未接转话务员",
    K.CALLBACK_REQUESTED: "要求回拨",
    K.FOLLOW_UP_CALLED: "回访外呼",
    K.FOLLOW_UP_UNANSWERED: "回访未接通",
    K.CALLBACK_PLACED: "漏接回拨",
    K.CALLBACK_RESULT: "回拨结果",
    K.MERGED: "并入工单",
    K.MERGE_RECEIVED: "合并来单",
    K.UNMERGED: "取消并单",
}
_LABELS_BY_VALUE = {kind.value: label for kind, label in EVENT_LABELS.items()}
_OFFICE_LABELS = {kind.value: label for kind, label in INTAKE_LABELS.items()} | _LABELS_BY_VALUE
BRIEF_FIELDS = (
    "id",
    "number",
    "status",
    "category",
    "priority",
    "summary",
    "address",
    "created_at",
)


class Redactor:
    """Free text as the viewer may read it: as is, or without the reporter's identity."""

    def __init__(self, case: CaseView, shown: dict[str, Any]) -> None:
        self.masked = bool(shown["identity_masked"])
        self._secrets = [str(getattr(case, n)) for n in IDENTITY_FIELDS if getattr(case, n)]

    def __call__(self, text: str | None) -> str | None:
        """The text, redacted for a masked viewer."""
        if text is None or not self.masked:
            return text
        return redact(text, self._secrets)


def brief_json(case: CaseView, viewer: UserView) -> dict[str, Any]:
    """A case in a list: masked for the viewer, with its status in words."""
    shown = case_json(case, viewer, holds=False)
    brief = {name: shown[name] for name in BRIEF_FIELDS}
    brief["status_label"] = STATUS_LABELS[case.status]
    brief["identity_masked"] = shown["identity_masked"]
    return brief


def assignment_json(row: AssignmentView, now: datetime, text: Redactor) -> dict[str, Any]:
    """A department's part in a round, with its deadlines and whether they were missed."""
    live = row.current and row.withdrawn_at is None
    return {
        "id": row.id,
        "department": row.department,
        "role": row.role,
        "round": row.round,
        "kind": row.kind,
        "current": live,
        "instructions": text(row.instructions),
        "dispatched_at": iso(row.dispatched_at),
        "dispatched_by": row.dispatched_by,
        "accept_due": iso(row.accept_due),
        "reply_due": iso(row.reply_due),
        "return_until": iso(row.return_until),
        "accepted_at": iso(row.accepted_at),
        "returned_at": iso(row.returned_at),
        "return_reason": text(row.return_reason),
        "return_rejected_at": iso(row.return_rejected_at),
        "withdrawn_at": iso(row.withdrawn_at),
        "replied_at": iso(row.replied_at),
        "accept_overdue": live and is_overdue(row.accept_due, now, done_at=row.accepted_at),
        "reply_overdue": live and is_overdue(row.reply_due, now, done_at=row.replied_at),
    }


def desk_json(item: DeskItem, viewer: UserView, now: datetime) -> dict[str, Any]:
    """A line of a department's desk or of the office's board."""
    shown = brief_json(item.case, viewer)
    text = Redactor(item.case, shown)
    part = item.assignment
    return {"case": shown, "assignment": assignment_json(part, now, text) if part else None}


def board_json(board: Board, viewer: UserView, now: datetime) -> dict[str, Any]:
    """The office's lists; each extension request with its case."""
    lists: dict[str, Any] = {
        name: [desk_json(item, viewer, now) for item in getattr(board, name)]
        for name in ("to_dispatch", "returned", "working", "closing")
    }
    lists["extensions"] = [
        {"request": extension_request_json(asked), **desk_json(item, viewer, now)}
        for asked, item in board.extensions
    ]
    return lists


def extension_request_json(asked: ExtensionView) -> dict[str, Any]:
    """A pending extension request, for the office (which sees everything anyway)."""
    return {
        "id": asked.id,
        "department": asked.department,
        "days": asked.days,
        "reason": asked.reason,
        "requested_by": asked.requested_by,
        "requested_at": iso(asked.requested_at),
        "previous_due": iso(asked.previous_due),
    }


def file_json(found: CaseFile, viewer: UserView, now: datetime) -> dict[str, Any]:
    """A case's whole file as the viewer may see it, and what they may do now."""
    shown = case_json(found.case, viewer, holds=False)
    shown["status_label"] = STATUS_LABELS[found.case.status]
    text = Redactor(found.case, shown)
    return {
        "case": shown,
        "assignments": [assignment_json(row, now, text) for row in found.assignments],
        "extensions": [
            {
                **_plain(vars_of(e)),
                "reason": text(e.reason),
                "decision_note": text(e.decision_note),
            }
            for e in found.extensions
        ],
        "notes": [{**_plain(vars_of(n)), "text": text(n.text)} for n in found.notes],
        "replies": [{**_plain(vars_of(r)), "result": text(r.result)} for r in found.replies],
        "surveys": [
            {**_plain(vars_of(s)), "citizen_words": text(s.citizen_words)} for s in found.surveys
        ],
        "timeline": _timeline(found.events, viewer, text),
        "merged_into": brief_json(found.main, viewer) if found.main else None,
        "merged_cases": [brief_json(case, viewer) for case in found.merged],
        "allowed": [action.value for action in found.allowed],
        "allowed_labels": {action.value: ACTION_LABELS[action] for action in found.allowed},
    }


def _timeline(events: tuple[EventView, ...], viewer: UserView, text: Redactor) -> list[Any]:
    # The office reads the whole trail; anyone else the workflow's steps, without the
    # before/after values (intake entries carry the caller's details).
    office = viewer.role is Role.OFFICE
    shown = []
    for event in events:
        label = _LABELS_BY_VALUE.get(event.kind)
        if label is None and not office:
            continue
        entry: dict[str, Any] = {
            "at": iso(event.at),
            "actor": event.actor,
            "kind": event.kind,
            "label": label or _OFFICE_LABELS.get(event.kind, event.kind),
            "note": text(event.note),
        }
        if office:
            entry.update(before=event.before, after=event.after)
        shown.append(entry)
    return shown


def vars_of(view: object) -> dict[str, Any]:
    """A view dataclass's fields."""
    return dict(vars(view))


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime | date) else value
        for key, value in values.items()
    }
