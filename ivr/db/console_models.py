"""SQLAlchemy models of the console: users, web sessions, failed logins and screen-pops."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.models import Base


class PopState(enum.StrEnum):
    """Where the call behind a screen-pop is, as the queue's events tell it."""

    RINGING = "ringing"  # AgentCalled: the agent's phone rings
    CONNECTED = "connected"  # AgentConnect: the draft becomes editable, talk time runs
    ENDED = "ended"  # the call is over; the agent may still be finishing the draft


class PopClose(enum.StrEnum):
    """Why a screen-pop left the agent's screen."""

    REGISTERED = "registered"  # the agent registered (受理) the case
    DISMISSED = "dismissed"  # the agent closed it; the draft goes to the work queue
    MISSED = "missed"  # the phone rang out (AgentRingNoAnswer) or the caller left first


class User(Base):
    """A console login; the password is kept only as an argon2 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    interface: Mapped[str | None] = mapped_column(String(128))  # an agent's queue member
    department: Mapped[str | None] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class WebSession(Base):
    """A logged-in browser; only the SHA-256 of its cookie token is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginFailure(Base):
    """One failed login, counted per username and per client address to slow guessing."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client_ip: Mapped[str] = mapped_column(String(64), index=True)


class ScreenPop(Base):
    """A case shown on an agent's console because the queue rang them with its call.

    Kept until the agent is done with it, so a page that reconnects (or another ivr
    process's page) gets it again; `acked_at` says when a page first confirmed showing it.
    """

    __tablename__ = "screen_pops"
    __table_args__ = (UniqueConstraint("call_uniqueid", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    interface: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    call_uniqueid: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]  # when the AgentCalled event reached the ivr process
    connected_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    close_reason: Mapped[str | None] = mapped_column(String(16))
