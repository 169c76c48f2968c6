"""SQLAlchemy models of the leader-on-duty schedule: leaders, shifts, holidays, audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.models import Base


class LeaderRecord(Base):
    """A leader who takes calls on duty days; `endpoints` is a JSON list of dial strings."""

    __tablename__ = "leaders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # files name leaders
    title: Mapped[str] = mapped_column(String(64))
    endpoints: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ShiftRecord(Base):
    """A leader's duty, [starts_at, ends_at) in UTC; no two shifts overlap (ivr.db.duty)."""

    __tablename__ = "duty_shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # RESTRICT: a leader with shifts is deactivated, never deleted (the record stays).
    leader_id: Mapped[int] = mapped_column(
        ForeignKey("leaders.id", ondelete="RESTRICT"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column(index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class HolidayRecord(Base):
    """A day of the office's holiday list: a day off, or a make-up working day (调休)."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))


class ScheduleAudit(Base):
    """One change to the schedule: who, when, what, and the record before and after."""

    __tablename__ = "schedule_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(16))  # leader, shift, holiday
    entity_id: Mapped[str] = mapped_column(String(32))  # an id, or a holiday's date
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
