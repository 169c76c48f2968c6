"""Bulk-loading synthetic traffic (ivr.sim.traffic) into a database at the newest schema.

PostgreSQL gets COPY (asyncpg's copy_records_to_table), then its id sequences are moved past
the ids the traffic used, so rows the application adds later get fresh ones, and ANALYZE.
SQLite gets executemany INSERTs straight to the driver, in batches. Either way one
transaction per day of traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db import console_models, workflow_models
from ivr.db.calls import Sessions
from ivr.db.models import Base
from ivr.sim.traffic import TABLES, Row, Traffic
from ivr.sim.traffic_cases import Ids

__all__ = ["console_models", "load", "load_reference", "next_ids", "workflow_models"]
SQLITE_BATCH = 5_000


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


async def next_ids(sm: Sessions) -> Ids:
    """The first free id of each table the traffic writes (for `Plan.first_ids`)."""
    values: dict[str, int] = {}
    async with sm() as session:
        for name in TABLES:
            top = await session.scalar(select(func.max(_table(name).c.id)))
            values[name] = (top or 0) + 1
    return Ids(**values)


async def load_reference(sm: Sessions, rows: Mapping[str, Sequence[Row]]) -> None:
    """Insert the departments and agent logins the traffic refers to (skipping known ones)."""
    async with sm.begin() as session:
        known = set(await session.scalars(select(_table("departments").c.name)))
        departments = [r for r in rows["departments"] if r["name"] not in known]
        names = set(await session.scalars(select(_table("users").c.username)))
        users = [r for r in rows["users"] if r["username"] not in names]
        for name, batch in (("departments", departments), ("users", users)):
            if batch:
                await session.execute(insert(_table(name)), batch)


async def load(sm: Sessions, batches: Iterable[Traffic]) -> dict[str, int]:
    """Insert every batch's rows; how many rows went into each table."""
    counts = dict.fromkeys(TABLES, 0)
    for traffic in batches:
        async with sm.begin() as session:
            for name in TABLES:
                rows = getattr(traffic, name)
                if rows:
                    await _insert(session, _table(name), rows)
                    counts[name] += len(rows)
    async with sm.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            for name in TABLES:
                await _advance_sequence(session, name)
                # the planner's statistics, as autovacuum would gather them after a bulk load
                await session.execute(text(f"ANALYZE {name}"))
    return counts


async def _insert(session: AsyncSession, table: Table, rows: Sequence[Row]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await _copy(session, table, rows)
        return
    # straight to the driver: SQLAlchemy's per-value bind processing would double the time
    columns = list(rows[0])
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
    connection = await session.connection()
    for start in range(0, len(rows), SQLITE_BATCH):
        records = [
            tuple(_sqlite(row[c]) for c in columns) for row in rows[start : start + SQLITE_BATCH]
        ]
        await connection.exec_driver_sql(sql, records)


def _sqlite(value: object) -> object:
    # the text UtcDateTime stores: naive UTC, microseconds always written
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


async def _copy(session: AsyncSession, table: Table, rows: Sequence[Row]) -> None:
    columns = list(rows[0])
    records = [tuple(row[c] for c in columns) for row in rows]
    connection = await session.connection()
    await connection.exec_driver_sql("SELECT 1")  # begins the transaction COPY joins
    raw: Any = await connection.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table.name, records=records, columns=columns)


async def _advance_sequence(session: AsyncSession, name: str) -> None:
    # setval(seq, max(id)): the next nextval() is past every id the traffic wrote
    await session.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
        )
    )
