"""Reminders (催办), the supervision list (督办) and the notice list (通报) as JSON.

The case goes through `ivr.web.workflow_json.brief_json`, so a whistleblower's identity
is masked for every viewer but the office (ivr.cases.masking), as on every other list.
"""

from __future__ import annotations

from typing import Any

from ivr.db.urging_views import ReminderItem
from ivr.db.users import UserView
from ivr.web.case_json import iso
from ivr.web.workflow_json import brief_json
from ivr.workflow.urging import LEVEL_LABELS, STEP_LABELS


def reminder_json(item: ReminderItem, viewer: UserView) -> dict[str, Any]:
    """A reminder with its case, as the viewer may see the case."""
    reminder = item.reminder
    step, level = reminder.step, reminder.level
    return {
        "id": reminder.id,
        "kind": reminder.kind,
        "step": step.value,
        "level": level.value,
        "label": f"{STEP_LABELS[step]}{LEVEL_LABELS[level]}",
        "department": reminder.department,
        "assignment_id": reminder.assignment_id,
        "deadline": iso(reminder.deadline),
        "due_at": iso(reminder.due_at),
        "raised_at": iso(reminder.raised_at),
        "acknowledged_at": iso(reminder.acknowledged_at),
        "acknowledged_by": reminder.acknowledged_by,
        "outstanding": item.outstanding,
        "overdue_working_minutes": item.overdue_minutes,
        "case": brief_json(item.case, viewer),
    }


def reminders_json(items: list[ReminderItem], viewer: UserView) -> dict[str, Any]:
    """A list of reminders under `reminders`."""
    return {"reminders": [reminder_json(item, viewer) for item in items]}
