"""Engines, sessions and backend differences: SQLite (the embedded default), PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import URL, Connection, DateTime, Dialect, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

from ivr.errors import ConfigError

# Two writers on one SQLite file wait for each other this long instead of failing.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# INSERT ... ON CONFLICT DO UPDATE ... RETURNING (case numbers) needs SQLite 3.35.
MIN_SQLITE_VERSION = (3, 35, 0)
SUPPORTED_BACKENDS = ("sqlite", "postgresql")

Insert: TypeAlias = postgresql.Insert | sqlite.Insert


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """UTC for the database; a naive datetime is a bug (whose local time would it be?)."""
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        utc = value.astimezone(UTC)
        # SQLite has no zone-aware type: naive UTC text sorts and compares correctly.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Timezone-aware UTC, whatever the backend returned."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, *, foreign_keys: bool = True) -> AsyncEngine:
    """An async engine for the URL, with SQLite tuned for several writers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ConfigError(f"database {backend!r} is not supported: use sqlite or postgresql")
    if backend == "postgresql":
        return create_async_engine(parsed, pool_pre_ping=True)
    return _sqlite_engine(parsed, foreign_keys=foreign_keys)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def dialect_insert(session: AsyncSession, table: Any) -> Insert:
    """The backend's INSERT construct, which knows ON CONFLICT."""
    name = session.get_bind().dialect.name
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)


def _sqlite_engine(url: URL, *, foreign_keys: bool) -> AsyncEngine:
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        raise ConfigError(f"SQLite {sqlite3.sqlite_version} is too old: 3.35 or newer is needed")
    if url.database and url.database != ":memory:" and not url.query.get("uri"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    on_connect = _on_sqlite_connect if foreign_keys else _on_sqlite_connect_for_migrations
    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any, foreign_keys: bool = True) -> None:
    # SQLAlchemy, not the sqlite3 module, decides when transactions begin (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # busy_timeout first: switching to WAL needs a lock another process may hold.
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _on_sqlite_connect_for_migrations(dbapi_connection: Any, record: Any) -> None:
    # A migration that rebuilds a table (alembic's batch mode: copy, drop, rename) must not
    # have SQLite cascade the DROP into every row that references the table; the pragma
    # cannot change inside a transaction, so it is off from the connection's start, and
    # ivr.db.migrate checks the references itself before committing.
    _on_sqlite_connect(dbapi_connection, record, foreign_keys=False)


def _on_sqlite_begin(conn: Connection) -> None:
    # Take the write lock at BEGIN: a deferred transaction that reads and then writes
    # fails at once with SQLITE_BUSY when another writer got there first, whatever the
    # busy timeout; an immediate one waits its turn.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
