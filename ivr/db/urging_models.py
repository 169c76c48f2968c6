"""The reminders the urging scheduler raised (催办), and with them the supervision (督办)
and notice (通报) lists.

Every reminder is a row, its `key` (case, assignment, kind, deadline) unique, so it is
raised once however many schedulers run. Escalations are reminders too (kinds
`accept_supervision`, `reply_notice`, ...), not columns on the assignment: the row says
when the case was escalated and about which deadline, and the lists are read from them.

- The supervision list (督办) is the office's work list: supervision reminders whose step
  is still undone on the same deadline (`ivr.workflow.urging.outstanding`). A case leaves
  it when the department accepts or replies, when the deadline moves (an approved
  extension), or when the case leaves the department (returned, re-dispatched, closed).
- The notice list (通报) is a record: every notice stays on it, marked once the step has
  been done after all.

The department acknowledges (已阅) its reminders; that is audited as a `CaseEvent`, like
the raising of each reminder.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.models import Base

KEY_LIMIT = 160


class CaseReminder(Base):
    """A reminder raised once: to a department about a step's deadline, or an escalation."""

    __tablename__ = "case_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LIMIT), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("case_assignments.id", ondelete="CASCADE"), index=True
    )
    department: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)  # step_level: reply_overdue
    deadline: Mapped[datetime]  # the step's deadline the reminder is about
    due_at: Mapped[datetime]  # when the reminder fell due
    raised_at: Mapped[datetime]  # when the scheduler raised it (later after downtime)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
