"""A named lease in the database: which of several ivr processes does a periodic job now.

A lease is one row (name, holder, expires_at). `acquire` takes it when it is free, expired
or already the caller's (then it renews it), in one statement:

    INSERT INTO leases VALUES (:name, :holder, :now + :ttl)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
    WHERE leases.holder = excluded.holder OR leases.expires_at <= :now
    RETURNING holder

PostgreSQL decides the conflict on the row's latest committed version, with the row
locked, and SQLite's writers take turns (BEGIN IMMEDIATE): of two processes racing for a
free lease, exactly one gets it, and nobody takes a lease that is held and not expired.

What a lease does not promise: a holder that stalls past `expires_at` may still be
working when another process takes over. Work done under a lease must therefore be safe
to do twice at once (the urging scheduler's reminders have unique keys); the lease only
keeps that from being the rule. The times are the callers' clocks (a test passes a fake
one), so hosts sharing a database must keep their clocks in step, well within a ttl.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.calls import Sessions
from ivr.db.engine import dialect_insert
from ivr.db.models import Base

NAME_LIMIT = 64
HOLDER_LIMIT = 128


class Lease(Base):
    """Who does the job called `name` until `expires_at`."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(NAME_LIMIT), primary_key=True)
    holder: Mapped[str] = mapped_column(String(HOLDER_LIMIT))
    expires_at: Mapped[datetime]


@dataclasses.dataclass(frozen=True)
class LeaseView:
    """A lease as it stands."""

    name: str
    holder: str
    expires_at: datetime


def holder_id() -> str:
    """A name for this process that no other process (here or on another host) has."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


async def acquire(sm: Sessions, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease until `now + ttl`; False when someone else holds it."""
    _check(name, holder, ttl)
    table = Lease.__table__
    async with sm.begin() as session:
        insert = dialect_insert(session, table).values(
            name=name, holder=holder, expires_at=now + ttl
        )
        ours_or_free = (table.c.holder == insert.excluded.holder) | (table.c.expires_at <= now)
        stmt = insert.on_conflict_do_update(
            index_elements=[table.c.name],
            set_={"holder": insert.excluded.holder, "expires_at": insert.excluded.expires_at},
            where=ours_or_free,
        ).returning(table.c.holder)
        taken: str | None = (await session.execute(stmt)).scalar_one_or_none()
    return taken == holder


async def release(sm: Sessions, name: str, holder: str) -> bool:
    """Give the lease up if `holder` has it (whether expired or not); whether it did."""
    async with sm.begin() as session:
        result = await session.execute(
            delete(Lease).where(Lease.name == name, Lease.holder == holder).returning(Lease.name)
        )
        released: str | None = result.scalar_one_or_none()
    return released is not None


async def current(sm: Sessions, name: str, *, now: datetime) -> LeaseView | None:
    """The lease's holder and expiry while it is held; None when it is free or expired."""
    async with sm() as session:
        row = await session.scalar(select(Lease).where(Lease.name == name))
    if row is None or row.expires_at <= now:
        return None
    return LeaseView(row.name, row.holder, row.expires_at)


def _check(name: str, holder: str, ttl: timedelta) -> None:
    if not 0 < len(name) <= NAME_LIMIT or not 0 < len(holder) <= HOLDER_LIMIT:
        raise ValueError(f"lease name and holder must be 1..{NAME_LIMIT}/{HOLDER_LIMIT} long")
    if ttl <= timedelta():
        raise ValueError(f"lease ttl {ttl} must be positive")
