"""The JSON of hot-topic alerts and their cases, as the alerts API, page and 专报 use it.

A case's caller is shown as ivr.cases.masking allows: the office sees a whistleblower's
identity, a leader reading the alerts sees `***` and none of the reporter's own words.
"""

from __future__ import annotations

from typing import Any

from ivr.cases.masking import masked, may_see_identity
from ivr.db.hot_topic_views import AlertCase
from ivr.db.hot_topics import STATE_LABELS, AlertView
from ivr.db.insight_models import AlertKind
from ivr.db.models import Role
from ivr.db.sensitive_words import WordView

KIND_LABELS = {
    AlertKind.SURGE: "话题激增",
    AlertKind.PLACE: "地点集中",
    AlertKind.REPEAT: "多人反映",
    AlertKind.SENSITIVE: "敏感词",
}


def alert_json(alert: AlertView) -> dict[str, Any]:
    """An alert."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "kind_label": KIND_LABELS.get(AlertKind(alert.kind), alert.kind),
        "key": alert.key,
        "title": alert.title,
        "window_start": alert.window_start.isoformat(),
        "window_end": alert.window_end.isoformat(),
        "raised_at": alert.raised_at.isoformat(),
        "case_count": alert.case_count,
        "baseline": alert.baseline,
        "details": alert.details,
        "state": alert.state.value,
        "state_label": STATE_LABELS[alert.state],
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
    }


def case_json(case: AlertCase, role: Role) -> dict[str, Any]:
    """A case behind an alert, masked for this viewer."""
    fields = {
        "id": case.id,
        "number": case.number,
        "status": case.status.value,
        "created_at": case.created_at.isoformat(),
        "category": case.category,
        "department": case.department,
        "summary": case.summary,
        "transcript": case.transcript,
        "address": case.address,
        "caller_number": case.caller_number,
        "caller_name": case.caller_name,
        "contact_phone": case.contact_phone,
    }
    visible = may_see_identity(role, holds_case=False, status=case.status)
    return masked(fields, whistleblower=case.whistleblower, visible=visible)


def word_json(word: WordView) -> dict[str, Any]:
    """A sensitive word."""
    return {
        "id": word.id,
        "word": word.word,
        "added_by": word.added_by,
        "added_at": word.added_at.isoformat(),
        "active": word.active,
    }
