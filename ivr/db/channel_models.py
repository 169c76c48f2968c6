"""SQLAlchemy models of the other ways in and back: the public mailbox and call-backs.

`PublicRequest` counts what anonymous visitors of the public mailbox (市长信箱) did, per
hashed client address, so a flood is refused across every ivr process; `CallbackAttempt`
is one agent's call back to a caller who gave up in the queue (漏接回拨) and its outcome.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.models import Base


class PublicAction(enum.StrEnum):
    """What an anonymous visitor did, for rate limiting."""

    SUBMIT = "submit"  # sent a letter through the public form
    QUERY = "query"  # looked a letter up with its query code
    REJECTED = "rejected"  # sent something the abuse checks refused


class CallbackOutcome(enum.StrEnum):
    """How a call back to an abandoned caller went."""

    PLACED = "placed"  # ringing the agent, then the citizen
    REACHED = "reached"  # the citizen answered and talked to the agent
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"  # the agent's phone or the trunk did not take the call


class PublicRequest(Base):
    """One anonymous request to the public mailbox, by hashed client address."""

    __tablename__ = "public_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    client_key: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))


class CallbackAttempt(Base):
    """One call back (漏接回拨) to a caller who hung up in the queue."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    number: Mapped[str] = mapped_column(String(64), index=True)
    agent: Mapped[str] = mapped_column(String(64))
    interface: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
