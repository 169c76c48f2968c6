"""Checking a console login: throttle first, then the password, then the bookkeeping.

Every attempt that reaches the password check costs one argon2 verification, whether the
username exists, is disabled or is fine, so the answer time does not tell them apart.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import users, web_sessions
from ivr.db.users import UserView
from ivr.db.web_sessions import Throttle
from ivr.errors import LoginFailed, LoginThrottled

log = structlog.get_logger(__name__)


async def authenticate(
    db: async_sessionmaker[AsyncSession],
    username: str,
    password: str,
    *,
    client_ip: str,
    now: datetime,
    throttle: Throttle,
    hashing: asyncio.Semaphore,
) -> UserView:
    """The user these credentials belong to; LoginThrottled or LoginFailed otherwise."""
    name = users.normalize_username(username)
    when = await web_sessions.retry_at(db, name, client_ip, now=now, throttle=throttle)
    if when is not None:
        log.warning("console_login_throttled", username=name, client_ip=client_ip)
        raise LoginThrottled(when)
    found = await users.find_login(db, name) if name else None
    stored = found.password_hash if found is not None else None
    async with hashing:
        matches = await asyncio.to_thread(_verify, stored, password)
    if found is None or not matches or not found.user.active:
        await web_sessions.record_failure(db, name, client_ip, now=now, throttle=throttle)
        log.warning("console_login_failed", username=name, client_ip=client_ip)
        raise LoginFailed("wrong username or password")
    await web_sessions.clear_failures(db, name)
    await _upgrade_hash(db, found, password, hashing)
    log.info("console_login", username=name, role=found.user.role.value, client_ip=client_ip)
    return found.user


def _verify(stored: str | None, password: str) -> bool:
    # An unknown user is checked against a dummy hash (made here, off the loop, the first
    # time) so that it costs exactly what a wrong password costs.
    if stored is None:
        users.verify_password(users.dummy_hash(), password)
        return False
    return users.verify_password(stored, password)


async def _upgrade_hash(
    db: async_sessionmaker[AsyncSession],
    found: users.LoginRecord,
    password: str,
    hashing: asyncio.Semaphore,
) -> None:
    # The only moment the plain password is at hand to re-hash with stronger parameters.
    if not users.needs_rehash(found.password_hash):
        return
    async with hashing:
        fresh = await asyncio.to_thread(users.hash_password, password)
    await users.replace_hash(db, found.user.id, fresh)
