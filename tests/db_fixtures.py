"""Database fixtures: a test that takes `database_url` runs on SQLite and on PostgreSQL.

PostgreSQL is the real server on 127.0.0.1:5432 (IVR_TEST_POSTGRES_DSN points elsewhere).
Each test session gets a fresh database `ivr_test_<hex>`, dropped at the end. When the
server cannot be reached the PostgreSQL tests fail and say why; they are never skipped.

Database setup runs on a helper thread with its own event loop, so these fixtures can be
plain (synchronous) fixtures that any test, async or not, may request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import secrets
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.migrate import upgrade_database

POSTGRES_DSN = os.environ.get(
    "IVR_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

T = TypeVar("T")
# Far-future days handed out one per test, so counters on the shared database never collide.
_days = itertools.count()


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh loop in another thread (fixture setup)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def postgres_url(database: str) -> str:
    """The SQLAlchemy URL of a database on the test server."""
    server = POSTGRES_DSN.removeprefix("postgresql://").rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{server}/{database}"


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


async def create_postgres_database() -> str:
    """Create an empty database `ivr_test_<hex>` and return its name; fail if unreachable."""
    name = f"ivr_test_{secrets.token_hex(6)}"
    try:
        admin = await asyncpg.connect(POSTGRES_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.fail(
            f"PostgreSQL at {POSTGRES_DSN} is unreachable ({exc!r}); the PostgreSQL tests "
            "need it: start the server or set IVR_TEST_POSTGRES_DSN",
            pytrace=False,
        )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def drop_postgres_database(name: str) -> None:
    """Drop a test database, disconnecting whoever still uses it."""
    admin = await asyncpg.connect(POSTGRES_DSN, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """The session's PostgreSQL database, migrated to head; its URL."""
    name = run_blocking(create_postgres_database())
    try:
        url = postgres_url(name)
        run_blocking(upgrade_database(url))
        yield url
    finally:
        run_blocking(drop_postgres_database(name))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the newest schema: a fresh SQLite file, or the session's PostgreSQL one.

    The PostgreSQL database is shared by the session's tests: use fresh uniqueids, numbers
    and days rather than expecting empty tables.
    """
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_database"))
    url = sqlite_url(tmp_path / "var" / "ivr.db")
    run_blocking(upgrade_database(url))
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (migration tests): its own, dropped afterwards."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    name = run_blocking(create_postgres_database())
    try:
        yield postgres_url(name)
    finally:
        run_blocking(drop_postgres_database(name))


@pytest.fixture
def fresh_instant() -> Callable[[], datetime]:
    """Hands out noon (Shanghai) on days no other test of the session numbers cases on."""

    def instant() -> datetime:
        day = date(2200, 1, 1) + timedelta(days=next(_days))
        return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)

    return instant


@pytest.fixture
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on `database_url`, disposed after the test."""
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def db_sessionmaker(db_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on `database_url`: what the repository functions take."""
    return make_sessionmaker(db_engine)


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new PostgreSQL database at the newest schema, dropped afterwards; its URL."""
    name = run_blocking(create_postgres_database())
    try:
        url = postgres_url(name)
        run_blocking(upgrade_database(url))
        yield url
    finally:
        run_blocking(drop_postgres_database(name))


@pytest.fixture
def own_database_url(database_url: str) -> Iterator[str]:
    """A database holding only what this test writes (SQLite's is the test's own file), for
    tests that count every row of a table (the shared PostgreSQL one holds other tests')."""
    if database_url.startswith("sqlite"):
        yield database_url
        return
    with fresh_postgres() as url:
        yield url


@pytest.fixture
async def own_sessionmaker(
    own_database_url: str,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on `own_database_url`."""
    engine = make_engine(own_database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()
