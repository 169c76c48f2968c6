"""SQLAlchemy models of the case workflow: departments, the dispatch catalogue, assignments,
extension requests, replies, progress notes and follow-up answers.

Departments are a table of their own, named as taxonomy.toml and `users.department` spell
them: the catalogue and every assignment point at one by name, so a case can only be sent
to a department the office has listed. They are deactivated, never deleted or renamed
(assignments keep pointing at them). Every row here belongs to a case's audit trail: the
moves themselves are also `CaseEvent`s, written in the same transaction.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.models import Base


class HandlerRole(enum.StrEnum):
    """主办 (answers for the case and replies) or 协办 (contributes notes)."""

    LEAD = "lead"
    CO = "co"


class AssignmentKind(enum.StrEnum):
    """Why an assignment exists: the first dispatch, a re-dispatch after a return, a rework."""

    DISPATCH = "dispatch"
    REDISPATCH = "redispatch"
    REWORK = "rework"


class Decision(enum.StrEnum):
    """What became of an extension request."""

    APPROVED = "approved"
    DENIED = "denied"
    VOID = "void"  # the department replied before the office decided


class Department(Base):
    """A department that handles cases (承办单位), named as users and the taxonomy name it."""

    __tablename__ = "departments"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))


class DispatchRule(Base):
    """One line of the dispatch catalogue (派单目录): a category's lead or co-handler."""

    __tablename__ = "dispatch_catalogue"

    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str] = mapped_column(
        ForeignKey("departments.name", ondelete="RESTRICT"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))


class CaseAssignment(Base):
    """A department's part in one round of a case: its deadlines and what it did.

    A round is a dispatch, a re-dispatch or a rework; the rows of the latest round are
    `current`. A withdrawn row (its department returned the case and the office sent it
    elsewhere) no longer shows the case to that department.
    """

    __tablename__ = "case_assignments"
    __table_args__ = (UniqueConstraint("case_id", "round", "department"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    department: Mapped[str] = mapped_column(
        ForeignKey("departments.name", ondelete="RESTRICT"), index=True
    )
    role: Mapped[str] = mapped_column(String(8))
    round: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    current: Mapped[bool]
    instructions: Mapped[str | None] = mapped_column(Text)  # the office's note, citizen's words
    dispatched_at: Mapped[datetime]
    dispatched_by: Mapped[str] = mapped_column(String(64))
    accept_due: Mapped[datetime]
    reply_due: Mapped[datetime] = mapped_column(index=True)
    return_until: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[str | None] = mapped_column(String(64))
    returned_at: Mapped[datetime | None]
    returned_by: Mapped[str | None] = mapped_column(String(64))
    return_reason: Mapped[str | None] = mapped_column(Text)
    return_rejected_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]


class ExtensionRequest(Base):
    """A department's request for more time (延期申请) and the office's decision."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("case_assignments.id", ondelete="CASCADE"), index=True
    )
    department: Mapped[str] = mapped_column(String(128))
    days: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    previous_due: Mapped[datetime]
    decision: Mapped[str | None] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    new_due: Mapped[datetime | None]


class CaseReply(Base):
    """回复: the lead department's formal answer, one per round it replied in."""

    __tablename__ = "case_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(
        ForeignKey("case_assignments.id", ondelete="CASCADE"), unique=True
    )
    department: Mapped[str] = mapped_column(String(128))
    round: Mapped[int]
    result: Mapped[str] = mapped_column(Text)
    handler: Mapped[str] = mapped_column(String(64))
    handled_on: Mapped[date]
    written_by: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime]


class ProgressNote(Base):
    """办理进展 from a department, or the office's remark (department None)."""

    __tablename__ = "progress_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    department: Mapped[str | None] = mapped_column(String(128))
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)


class CaseSurvey(Base):
    """回访: the citizen's answers after a reply, and what became of the case."""

    __tablename__ = "case_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    round: Mapped[int]
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    resolved: Mapped[bool]
    satisfaction: Mapped[str] = mapped_column(String(24))
    citizen_words: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)  # the office closed it anyway
    reopened: Mapped[bool]
