"""Migrations and engines: the shipped migration builds exactly the models, on both backends."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.db import (
    console_models,  # noqa: F401 (its tables belong to the metadata)
    duty_models,  # noqa: F401 (its tables belong to the metadata)
    lease,  # noqa: F401 (its tables belong to the metadata)
    migrate,
    urging_models,  # noqa: F401 (its tables belong to the metadata)
    workflow_models,  # noqa: F401 (its tables belong to the metadata)
)
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.migrate import MIGRATIONS_DIR, current_revision, head_revision, upgrade_database
from ivr.db.models import Base, Caller
from ivr.errors import ConfigError

pytest_plugins = ["tests.db_fixtures"]


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migration_builds_exactly_the_models(empty_database_url: str) -> None:
    await upgrade_database(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()
    assert await current_revision(empty_database_url) == head_revision()


async def test_upgrade_is_idempotent(empty_database_url: str) -> None:
    assert await current_revision(empty_database_url) is None
    await upgrade_database(empty_database_url)
    await upgrade_database(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()


async def test_processes_starting_together_all_succeed(empty_database_url: str) -> None:
    # Each call has its own engine, as separate ivr processes would.
    await asyncio.gather(*(upgrade_database(empty_database_url) for _ in range(4)))
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(_schema_diff) == []
    finally:
        await engine.dispose()


async def test_downgrade_undoes_the_upgrade(empty_database_url: str) -> None:
    await upgrade_database(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda sync: command.downgrade(migrate.alembic_config(sync), "base")
            )
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert tables <= {"alembic_version"}
    await upgrade_database(empty_database_url)
    assert await current_revision(empty_database_url) == head_revision()


def test_migrations_ship_inside_the_package() -> None:
    package = Path(migrate.__file__).parents[1]  # ivr/, wherever it is installed
    assert package / "migrations" == MIGRATIONS_DIR
    assert head_revision() == "0009"
    pyproject = tomllib.loads((package.parent / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["ivr"]
    shipped = [
        path.relative_to(package)
        for path in MIGRATIONS_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert {"env.py", "script.py.mako", "0001_initial.py"} <= {p.name for p in shipped}
    unshipped = [p for p in shipped if not any(p.match(pattern) for pattern in patterns)]
    assert unshipped == [], "add these to [tool.setuptools.package-data] in pyproject.toml"


async def test_sqlite_is_tuned_for_several_writers(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new' / 'dir' / 'ivr.db'}"
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    finally:
        await engine.dispose()
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] >= 5000
    assert (tmp_path / "new" / "dir" / "ivr.db").exists()


async def test_foreign_keys_are_enforced(db_engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        async with db_engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO recordings (call_id, path, kind, sample_rate, "
                    "duration_seconds, complete, created_at) "
                    "VALUES (999999, 'x.wav', 'request', 8000, 1.0, false, CURRENT_TIMESTAMP)"
                )
            )


async def test_naive_datetimes_are_refused(db_engine: AsyncEngine) -> None:
    sm = make_sessionmaker(db_engine)
    naive = datetime(2026, 11, 27, 8, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        async with sm.begin() as session:
            session.add(Caller(number="1", first_seen_at=naive, last_call_at=naive, call_count=1))


async def test_every_table_exists(db_engine: AsyncEngine) -> None:
    async with db_engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert set(Base.metadata.tables) <= tables


def test_unsupported_database_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="mysql"):
        make_engine("mysql+aiomysql://localhost/ivr")


async def test_unreachable_database_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError, match="cannot migrate the database") as raised:
        await upgrade_database("postgresql+asyncpg://nobody:s3cret@127.0.0.1:1/none")
    assert "s3cret" not in str(raised.value)


async def test_upgrading_a_database_in_use_keeps_every_case_and_its_history(
    empty_database_url: str,
) -> None:
    # 0007 and 0008 rebuild `cases` on SQLite (copy, drop, rename): with foreign keys
    # enforced, dropping it would cascade into the audit trail and unlink the calls
    engine = make_engine(empty_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(migrate.alembic_config(sync), "0006"))
            await conn.execute(text(_A_CASE), {"at": datetime(2031, 3, 3, 2)})
            await conn.execute(text(_ITS_EVENT), {"at": datetime(2031, 3, 3, 2)})
            await conn.execute(text(_ITS_CALL), {"at": datetime(2031, 3, 3, 2)})
    finally:
        await engine.dispose()
    await upgrade_database(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            events = await conn.scalar(text("SELECT count(*) FROM case_events WHERE case_id = 1"))
            linked = await conn.scalar(text("SELECT case_id FROM calls WHERE uniqueid = 'u-1'"))
            number = await conn.scalar(text("SELECT number FROM cases WHERE id = 1"))
    finally:
        await engine.dispose()
    assert (number, events, linked) == ("20310303-0001", 1, 1)


_A_CASE = """
INSERT INTO cases (id, number, status, channel, caller_number, transcript,
    transcript_available, category, department, priority, summary, whistleblower, abandoned,
    needs_callback, leader_handled, version, created_at, updated_at)
VALUES (1, '20310303-0001', 'registered', 'phone', '13800000000', '路灯坏了', true, 'urban',
    '市城管执法局', 'normal', '路灯坏了', false, false, false, false, 1, :at, :at)
"""
_ITS_EVENT = """
INSERT INTO case_events (case_id, at, actor, kind) VALUES (1, :at, 'agent', 'registered')
"""
_ITS_CALL = """
INSERT INTO calls (uniqueid, started_at, stage, via_fallback, outcome, needs_callback, case_id)
VALUES ('u-1', :at, 'ended', false, 'answered', false, 1)
"""
