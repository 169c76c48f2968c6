"""SQLAlchemy models: callers, calls, recordings, cases, their audit trail and case counters.

The console's tables (users, sessions, screen-pops) are in `ivr.db.console_models`.

Datetimes are stored as UTC and come back timezone-aware on every backend; showing them in
Asia/Shanghai is the presentation layer's job. Workflow values are plain string columns with
a Python enum beside them, so adding a state later needs no database type migration.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import JSON, ForeignKey, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ivr.db.engine import UtcDateTime

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

V = TypeVar("V", bound="DataclassInstance")

# Stable constraint names, so migrations can name what they alter on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def snapshot(view: type[V], row: object, **overrides: object) -> V:
    """A frozen view of an ORM row: its same-named attributes, some of them replaced."""
    names = [f.name for f in dataclasses.fields(view) if f.name not in overrides]
    return view(**{name: getattr(row, name) for name in names}, **overrides)


class Stage(enum.StrEnum):
    """How far a call got, in call-flow order."""

    GREETING = "greeting"
    INTAKE = "intake"
    RECORDING = "recording"
    QUEUE = "queue"
    AGENT = "agent"
    ENDED = "ended"

    @property
    def rank(self) -> int:
        """Position in the call flow; a call's stage only moves forward."""
        return list(Stage).index(self)


class Outcome(enum.StrEnum):
    """How a call ended (or that it has not yet)."""

    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    HUNG_UP_IN_IVR = "hung_up_in_ivr"
    FAILED = "failed"


class RecordingKind(enum.StrEnum):
    """What a recording holds."""

    REQUEST = "request"


class CaseStatus(enum.StrEnum):
    """The workflow 受理 → 交办 → 催办/督办 → 回复 → 回访 → 归档."""

    DRAFT = "draft"  # drafted by the IVR, not yet accepted by an agent
    REGISTERED = "registered"  # 受理
    DISPATCHED = "dispatched"  # 交办, waiting for the lead department to accept (签收)
    HANDLING = "handling"  # 签收: the lead department is working on it (催办/督办 meanwhile)
    RETURNED = "returned"  # 退单: the department sent it back, the office decides
    REPLIED = "replied"  # 回复
    FOLLOWED_UP = "followed_up"  # 回访
    ARCHIVED = "archived"  # 归档
    MERGED = "merged"  # 并单: handled as part of another case (merged_into_id)

    @property
    def is_open(self) -> bool:
        """Whether the case still needs work."""
        return self is not CaseStatus.ARCHIVED


class CaseChannel(enum.StrEnum):
    """How the request reached the hotline."""

    PHONE = "phone"
    WALK_IN = "walk_in"
    MAILBOX = "mailbox"


class Priority(enum.StrEnum):
    """一般件 / 急阅件 / 重要件."""

    NORMAL = "normal"
    URGENT = "urgent"
    IMPORTANT = "important"


class CaseEventKind(enum.StrEnum):
    """What an audit-trail entry records."""

    CREATED = "created"
    REGISTERED = "registered"
    EDITED = "edited"
    STATUS_CHANGED = "status_changed"
    CALL_ABANDONED = "call_abandoned"
    CALL_ANSWERED = "call_answered"
    ANALYSED = "analysed"  # the IVR wrote its transcript and classification onto the draft
    CLAIMED = "claimed"  # an agent took a draft from the work queue
    RELEASED = "released"  # ... and gave it back
    LEADER_ROUTED = "leader_routed"  # 领导接听日: the call was sent to the duty leader's desk
    LEADER_BUSY = "leader_busy"  # ... the desk was busy: the agents took it
    LEADER_ANSWERED = "leader_answered"  # ... the leader (or an assistant) answered
    LEADER_FELL_BACK = "leader_fell_back"  # ... nobody answered in time: the agents took it
    CALLBACK_REQUESTED = "callback_requested"  # the caller asked to be called back
    FOLLOW_UP_CALLED = "follow_up_called"  # 回访: the system dialled the citizen
    FOLLOW_UP_UNANSWERED = "follow_up_unanswered"  # ... nobody answered (or busy, or failed)
    # the workflow after registration (ivr.db.workflow): one entry per move
    DISPATCHED = "dispatched"  # 交办 to a lead department (and co-handlers)
    ACCEPTED = "accepted"  # 签收 by a department
    RETURNED = "returned"  # 退单: a department sent it back, with its reason
    RETURN_REJECTED = "return_rejected"  # the office refused the return
    REDISPATCHED = "redispatched"  # the office accepted the return and sent it elsewhere
    EXTENSION_REQUESTED = "extension_requested"  # 延期申请
    EXTENSION_APPROVED = "extension_approved"
    EXTENSION_DENIED = "extension_denied"
    NOTE_ADDED = "note_added"  # a progress note (办理进展) or the office's remark
    REPLIED = "replied"  # 回复: result, handler, date
    FOLLOWED_UP = "followed_up"  # 回访: the citizen's answers
    REOPENED = "reopened"  # 重新办理: back to a department with the citizen's words
    ARCHIVED = "archived"  # 归档: read-only from now on
    # 催办/督办 (ivr.workflow_scheduler): raised by the system, read by the department
    URGED = "urged"  # 催办: a deadline is near, or has passed
    SUPERVISED = "supervised"  # 督办: overdue, on the office's supervision list
    NOTICED = "noticed"  # 通报: long overdue, on the notice list
    REMINDER_ACKNOWLEDGED = "reminder_acknowledged"  # the department has read a reminder
    # 并单: duplicates of one problem handled as one case
    MERGED = "merged"  # this case joined another one (merged_into_id)
    MERGE_RECEIVED = "merge_received"  # another case joined this one
    UNMERGED = "unmerged"  # 取消并单: handled on its own again (on both cases)
    # 漏接回拨: an agent called an abandoned caller back
    CALLBACK_PLACED = "callback_placed"
    CALLBACK_RESULT = "callback_result"


class Role(enum.StrEnum):
    """What a console user does: 话务员, 热线办, 承办单位, 值班领导."""

    AGENT = "agent"
    OFFICE = "office"
    DEPARTMENT = "department"
    LEADER = "leader"


class Base(DeclarativeBase):
    """Declarative base with the project's naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime, dict[str, Any]: JSON}


class Caller(Base):
    """A phone number that has called, with its call history counters."""

    __tablename__ = "callers"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    first_seen_at: Mapped[datetime]
    last_call_at: Mapped[datetime]
    call_count: Mapped[int] = mapped_column(default=0)


class Case(Base):
    """A citizen's request (工单), from the IVR's draft to the archive."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    caller_number: Mapped[str] = mapped_column(String(64), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(64))
    transcript: Mapped[str] = mapped_column(Text)
    transcript_available: Mapped[bool]
    category: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(128))
    priority: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(256))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    whistleblower: Mapped[bool] = mapped_column(default=False)
    abandoned: Mapped[bool] = mapped_column(default=False)
    needs_callback: Mapped[bool] = mapped_column(default=False)
    leader_handled: Mapped[bool] = mapped_column(default=False)
    # 市长信箱: the SHA-256 of the query code a mailbox citizen checks progress with
    query_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # 并单: the case this one is handled as part of (its status is then "merged")
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    # 知识库: the article an agent answered a consultation (咨询) with, at first contact
    kb_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="SET NULL"), index=True
    )
    first_contact_resolved: Mapped[bool] = mapped_column(default=False)
    # The agent working a draft from the work queue (one claim per draft, one per agent).
    claimed_by: Mapped[str | None] = mapped_column(String(64), index=True)
    claimed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column()
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # Every UPDATE checks and bumps the version, so a stale writer can never slip through.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once by the mapper)

    def follow_call(self, outcome: Outcome, at: datetime) -> CaseEvent | None:
        """Flag a draft for callback when its caller gave up; the audit entry, if it changed."""
        flags = {"abandoned": self.abandoned, "needs_callback": self.needs_callback}
        if outcome == Outcome.ABANDONED:
            wanted, kind = True, CaseEventKind.CALL_ABANDONED
        elif outcome == Outcome.ANSWERED and self.abandoned and self.status == CaseStatus.DRAFT:
            # A late AgentConnect: the caller was answered after all, no callback is due.
            wanted, kind = False, CaseEventKind.CALL_ANSWERED
        else:
            return None
        if set(flags.values()) == {wanted}:
            return None
        self.abandoned = self.needs_callback = wanted
        self.updated_at = at
        after = dict.fromkeys(flags, wanted)
        return CaseEvent(case_id=self.id, at=at, actor="ivr", kind=kind, before=flags, after=after)


class Call(Base):
    """One call, keyed by Asterisk's uniqueid; written by the AGI flow and AMI events."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str | None] = mapped_column(String(255))
    caller_number: Mapped[str | None] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime]
    stage: Mapped[str] = mapped_column(String(16), default=Stage.GREETING.value)
    via_fallback: Mapped[bool] = mapped_column(default=False)
    queue: Mapped[str | None] = mapped_column(String(64))
    # indexed: the wallboard reads the day's queue calls every few seconds
    queue_joined_at: Mapped[datetime | None] = mapped_column(index=True)
    agent_called_at: Mapped[datetime | None]
    agent: Mapped[str | None] = mapped_column(String(255))
    answered_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    complete_reason: Mapped[str | None] = mapped_column(String(32))
    abandoned_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    wait_seconds: Mapped[float | None]
    talk_seconds: Mapped[float | None]
    outcome: Mapped[str] = mapped_column(String(16), default=Outcome.IN_PROGRESS.value)
    hangup_cause: Mapped[str | None] = mapped_column(String(64))
    needs_callback: Mapped[bool] = mapped_column(default=False)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )

    def advance(self, stage: Stage) -> None:
        """Move the stage forward to `stage`; a call never goes back."""
        if stage.rank > Stage(self.stage).rank:
            self.stage = stage.value

    def settle(self) -> None:
        """Recompute outcome, callback flag and missing durations from the recorded facts."""
        self.outcome = self._reached_outcome().value
        self.needs_callback = self.outcome == Outcome.ABANDONED
        # Asterisk's own figures (set by the event recorders) win; timestamps fill gaps.
        joined, answered = self.queue_joined_at, self.answered_at
        wait_until = {Outcome.ANSWERED: answered, Outcome.ABANDONED: self.ended_at}
        until = wait_until.get(Outcome(self.outcome))
        if self.wait_seconds is None and joined is not None and until is not None:
            self.wait_seconds = max(0.0, (until - joined).total_seconds())
        until = self.completed_at or self.ended_at
        if self.talk_seconds is None and answered is not None and until is not None:
            self.talk_seconds = max(0.0, (until - answered).total_seconds())

    def _reached_outcome(self) -> Outcome:
        if self.answered_at is not None or self.completed_at is not None:
            return Outcome.ANSWERED
        ended = self.ended_at is not None
        if self.abandoned_at is not None or (ended and self.queue_joined_at is not None):
            return Outcome.ABANDONED
        if self.outcome == Outcome.FAILED:
            return Outcome.FAILED
        return Outcome.HUNG_UP_IN_IVR if ended else Outcome.IN_PROGRESS


class Recording(Base):
    """An audio file recorded on a call, relative to the recordings directory."""

    __tablename__ = "recordings"
    __table_args__ = (UniqueConstraint("call_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(512))
    kind: Mapped[str] = mapped_column(String(16), default=RecordingKind.REQUEST.value)
    sample_rate: Mapped[int]
    duration_seconds: Mapped[float]
    complete: Mapped[bool]
    created_at: Mapped[datetime]


class CaseEvent(Base):
    """One entry of a case's audit trail: who changed what, from what, to what."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    note: Mapped[str | None] = mapped_column(Text)


class CaseNumberCounter(Base):
    """The last case number handed out on a service day (Asia/Shanghai date)."""

    __tablename__ = "case_number_counters"

    day: Mapped[date] = mapped_column(primary_key=True)
    value: Mapped[int]


# Case refers to kb_articles: its table must be in the metadata wherever cases are used,
# also in a process that imports nothing else (a script, a worker). At the end: the module
# needs Base from here.
from ivr.db import insight_models as _insight_models  # noqa: E402, F401
