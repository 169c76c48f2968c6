"""Console users: validated creation, listing, disabling, and their argon2 password hashes.

Hashing is slow and memory-hungry on purpose; async callers run it in a worker thread.
Usernames are stored lower-case, so `Wang.Li` and `wang.li` are one login (and one counter
for the login throttle).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import re
import secrets
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db.console_models import User, WebSession
from ivr.db.engine import utcnow
from ivr.db.models import Role, snapshot
from ivr.errors import RecordNotFound, ValidationError

Sessions = async_sessionmaker[AsyncSession]

# argon2id with the library's (RFC 9106 low-memory) defaults; tests swap in a cheaper one.
HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
# A queue member as app_queue takes it: TECH/resource, no separators AMI or dialplan split on.
INTERFACE_PATTERN = re.compile(r"^[A-Za-z0-9]+/[^\s,;|&]{1,120}$")
ROLE_CHOICES = ", ".join(role.value for role in Role)


@dataclasses.dataclass(frozen=True)
class UserView:
    """A console user as the rest of the code sees it: never with the password hash."""

    id: int
    username: str
    display_name: str
    role: Role
    interface: str | None
    department: str | None
    active: bool
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class LoginRecord:
    """A user together with the stored hash, for checking a password and nothing else."""

    user: UserView
    password_hash: str


def normalize_username(raw: str) -> str:
    """The stored form of a username as typed: trimmed and lower-case."""
    return raw.strip().lower()


def hash_password(password: str) -> str:
    """An argon2id hash of the password (slow: call it off the event loop)."""
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash; a malformed hash never matches."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return HASHER.check_needs_rehash(password_hash)


def dummy_hash() -> str:
    """A hash nobody's password matches, made with the current parameters."""
    return _dummy_hash(HASHER)


@functools.lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    # verify() costs what the hash's own parameters say, so this must match real hashes.
    return hasher.hash(secrets.token_urlsafe(32))


def _check_password(password: str) -> None:
    # Absurdly long ones too: nobody types a kilobyte, and hashing it is work for nothing.
    if not password:
        raise ValidationError("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters")


def _new_user(
    username: str,
    role: str,
    *,
    display_name: str | None = None,
    interface: str | None = None,
    department: str | None = None,
) -> User:
    # A validated user, not yet saved and without its password hash.
    name = normalize_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise ValidationError(
            f"username {username!r}: use 1-64 of a-z, 0-9, '.', '_', '-' (starting alphanumeric)"
        )
    try:
        kind = Role(role)
    except ValueError:
        raise ValidationError(f"unknown role {role!r}: choose one of {ROLE_CHOICES}") from None
    shown = (display_name or "").strip() or name
    if len(shown) > 64:
        raise ValidationError("the display name must be at most 64 characters")
    return User(
        username=name,
        display_name=shown,
        role=kind.value,
        interface=_interface(kind, interface),
        department=_department(kind, department),
        active=True,
    )


def _interface(role: Role, interface: str | None) -> str | None:
    value = (interface or "").strip() or None
    if value is None:
        return None
    if role not in (Role.AGENT, Role.LEADER):  # a leader's desk phone pops their console
        raise ValidationError("only agents and leaders have a phone interface")
    if not INTERFACE_PATTERN.fullmatch(value):
        raise ValidationError(f"interface {value!r}: expected e.g. PJSIP/8001")
    return value


def _department(role: Role, department: str | None) -> str | None:
    value = (department or "").strip() or None
    if role is Role.DEPARTMENT and value is None:
        raise ValidationError("a department user needs --department (the department's name)")
    if role is not Role.DEPARTMENT and value is not None:
        raise ValidationError("only department users belong to a department")
    if value is not None and len(value) > 128:
        raise ValidationError("the department name must be at most 128 characters")
    return value


async def create_user(
    sm: Sessions,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str | None = None,
    interface: str | None = None,
    department: str | None = None,
    now: datetime | None = None,
) -> UserView:
    """Validate, hash the password (in a thread) and save a user; a taken name is refused."""
    user = _new_user(
        username, role, display_name=display_name, interface=interface, department=department
    )
    _check_password(password)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    user.created_at = now or utcnow()
    taken = ValidationError(f"user {user.username!r} already exists")
    try:
        async with sm.begin() as session:
            if await _find(session, user.username) is not None:
                raise taken
            session.add(user)
            await session.flush()
            return view_of(user)
    except IntegrityError as exc:  # a concurrent add won the race
        raise taken from exc


async def list_users(sm: Sessions) -> list[UserView]:
    """Every user, by username."""
    async with sm() as session:
        rows = await session.scalars(select(User).order_by(User.username))
        return [view_of(row) for row in rows]


async def disable_user(sm: Sessions, username: str) -> int:
    """Stop a user from logging in and end their sessions; how many sessions were ended."""
    async with sm.begin() as session:
        user = await _find(session, normalize_username(username))
        if user is None:
            raise RecordNotFound(f"no user {username!r}")
        user.active = False
        ended = await session.scalars(
            delete(WebSession).where(WebSession.user_id == user.id).returning(WebSession.id)
        )
        return len(ended.all())


async def find_login(sm: Sessions, username: str) -> LoginRecord | None:
    """The user and stored hash for a login attempt, active or not; None when unknown."""
    async with sm() as session:
        user = await _find(session, normalize_username(username))
        return None if user is None else LoginRecord(view_of(user), user.password_hash)


async def replace_hash(sm: Sessions, user_id: int, password_hash: str) -> None:
    """Store a fresh hash of the same password (after the hashing parameters went up)."""
    async with sm.begin() as session:
        user = await session.get(User, user_id)
        if user is not None:
            user.password_hash = password_hash


def view_of(user: User) -> UserView:
    """A session-free view of a user row."""
    return snapshot(UserView, user, role=Role(user.role))


async def _find(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))
