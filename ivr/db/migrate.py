"""Schema migrations with Alembic, shipped inside the package so an installed ivr can migrate.

`upgrade_database` runs at start in every ivr process. On PostgreSQL several processes may
start together, so the upgrade holds an advisory lock; on SQLite the immediate transaction
serializes them. Either way the last to arrive finds the schema at head and does nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from ivr.db.engine import make_engine
from ivr.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any fixed 64-bit key; it only has to be the same in every ivr process.
_ADVISORY_LOCK_KEY = 12345_0001


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the packaged migrations, optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of ivr."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


# alembic keeps its migration context in module globals: two upgrades interleaving in one
# process (greenlets switch at every database round trip) corrupt each other's context.
# The database lock orders processes; this orders coroutines within one.
_in_process: asyncio.Lock | None = None


async def upgrade_database(url: str) -> None:
    """Bring the database at `url` to the newest schema (idempotent, safe to run concurrently)."""
    global _in_process
    _in_process = _in_process or asyncio.Lock()
    async with _in_process:
        await _upgrade_with_engine(url)


async def _upgrade_with_engine(url: str) -> None:
    engine = make_engine(url, foreign_keys=False)  # see _check_references
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
    except (SQLAlchemyError, OSError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        raise ConfigError(f"cannot migrate the database at {shown}: {exc}") from exc
    finally:
        await engine.dispose()


async def current_revision(url: str) -> str | None:
    """The migration the database at `url` is at, or None when it was never migrated."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held until commit: concurrent starters wait, then find the schema at head.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
    command.upgrade(alembic_config(connection), "head")
    if connection.dialect.name == "sqlite":
        _check_references(connection)


def _check_references(connection: Connection) -> None:
    # SQLite migrates with foreign keys off (a table rebuild would otherwise cascade its
    # DROP into the rows that reference it): what it would have enforced is checked here,
    # inside the migration's transaction, so a broken reference rolls the upgrade back.
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        shown = ", ".join(f"{row[0]} row {row[1]} → {row[2]}" for row in broken[:5])
        raise ConfigError(f"the migration left broken references: {shown}")
