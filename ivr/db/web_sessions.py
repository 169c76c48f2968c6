"""Console sessions and failed logins, kept in the database so any ivr process can serve.

The browser holds a random token; the table holds only its SHA-256, so a copy of the table
cannot be replayed as a cookie. A session lasts until it has been idle for the configured
time and carries its own CSRF token. Failed logins are rows counted per username and per
client address over a sliding window: every process sees the same count.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db.console_models import LoginFailure, User, WebSession
from ivr.db.users import UserView, view_of

Sessions = async_sessionmaker[AsyncSession]

# Sliding expiry without a write on every request: refresh at most this often.
REFRESH_AFTER = timedelta(minutes=1)
_KEY_LENGTH = 64


@dataclasses.dataclass(frozen=True)
class SessionView:
    """A live session and its user."""

    id: int
    user: UserView
    csrf_token: str
    expires_at: datetime


@dataclasses.dataclass(frozen=True)
class IssuedSession:
    """A new session: `token` goes into the cookie and is stored nowhere."""

    token: str
    session: SessionView


@dataclasses.dataclass(frozen=True)
class Throttle:
    """How many failed logins, within what window, before logins are refused."""

    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a session token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


async def create_session(
    sm: Sessions, user: UserView, *, now: datetime, idle: timedelta
) -> IssuedSession:
    """Open a session for the user and clear away expired ones."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=token_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + idle,
    )
    async with sm.begin() as session:
        await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        session.add(row)
        await session.flush()
    return IssuedSession(token, SessionView(row.id, user, row.csrf_token, row.expires_at))


async def resolve_session(
    sm: Sessions, token: str, *, now: datetime, idle: timedelta
) -> SessionView | None:
    """The live session for a cookie token, its idle timer restarted; None when there is none."""
    query = (
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == token_digest(token))
    )
    async with sm.begin() as session:
        found = (await session.execute(query)).first()
        if found is None:
            return None
        row, user = found
        if row.expires_at <= now or not user.active:
            await session.delete(row)
            return None
        if now + idle - row.expires_at >= REFRESH_AFTER:
            row.expires_at = now + idle
        return SessionView(row.id, view_of(user), row.csrf_token, row.expires_at)


async def delete_session(sm: Sessions, token: str) -> bool:
    """End the session a cookie token names; whether there was one."""
    query = (
        delete(WebSession)
        .where(WebSession.token_hash == token_digest(token))
        .returning(WebSession.id)
    )
    async with sm.begin() as session:
        return bool((await session.scalars(query)).all())


async def retry_at(
    sm: Sessions, username: str, client_ip: str, *, now: datetime, throttle: Throttle
) -> datetime | None:
    """When logins for this username and address are allowed again; None when they are now."""
    since = now - throttle.window
    latest: list[datetime] = []
    async with sm() as session:
        for column, value in (
            (LoginFailure.username, username),
            (LoginFailure.client_ip, client_ip),
        ):
            latest.extend(await _nth_latest(session, column == _key(value), since, throttle))
    # Once the max_failures-th latest failure leaves the window, fewer than the limit remain.
    return max(latest) + throttle.window if latest else None


async def _nth_latest(
    session: AsyncSession, matches: ColumnElement[bool], since: datetime, throttle: Throttle
) -> list[datetime]:
    query = (
        select(LoginFailure.at)
        .where(matches, LoginFailure.at > since)
        .order_by(LoginFailure.at.desc())
        .offset(throttle.max_failures - 1)
        .limit(1)
    )
    return list(await session.scalars(query))


async def record_failure(
    sm: Sessions, username: str, client_ip: str, *, now: datetime, throttle: Throttle
) -> None:
    """Count a failed login, and forget failures that have left the window."""
    async with sm.begin() as session:
        await session.execute(delete(LoginFailure).where(LoginFailure.at <= now - throttle.window))
        session.add(LoginFailure(at=now, username=_key(username), client_ip=_key(client_ip)))


async def clear_failures(sm: Sessions, username: str) -> None:
    """Forget a username's failed logins (after it logged in successfully)."""
    async with sm.begin() as session:
        await session.execute(delete(LoginFailure).where(LoginFailure.username == _key(username)))


def _key(value: str) -> str:
    # What fits the column; an over-long name is still counted, under its prefix.
    return value[:_KEY_LENGTH]
