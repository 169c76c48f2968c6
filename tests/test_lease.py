"""The database lease (SQLite and PostgreSQL): taken when free, expired or ours, refused
while someone else holds it, and of several engines or processes racing for it exactly
one gets it. Times come from a fake clock; lease names are fresh (PostgreSQL is shared)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import lease
from ivr.db.engine import make_engine, make_sessionmaker
from tests.test_workflow_calendar import bj

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
NOW = bj("2031-03-03", 10)
TTL = timedelta(seconds=60)


def fresh() -> str:
    """A lease name no other test uses."""
    return f"test-{uuid.uuid4().hex[:12]}"


async def test_a_free_lease_is_taken_renewed_and_refused_to_others(
    db_sessionmaker: Sessions,
) -> None:
    sm, name = db_sessionmaker, fresh()
    assert await lease.current(sm, name, now=NOW) is None
    assert await lease.acquire(sm, name, "a", now=NOW, ttl=TTL)
    assert not await lease.acquire(sm, name, "b", now=NOW, ttl=TTL)
    later = NOW + timedelta(seconds=30)
    assert await lease.acquire(sm, name, "a", now=later, ttl=TTL)  # renewed
    held = await lease.current(sm, name, now=later)
    assert held is not None and (held.holder, held.expires_at) == ("a", later + TTL)
    # renewed: still a's after the first term would have ended
    assert not await lease.acquire(sm, name, "b", now=NOW + TTL, ttl=TTL)


async def test_an_expired_lease_goes_to_the_next_asker(db_sessionmaker: Sessions) -> None:
    sm, name = db_sessionmaker, fresh()
    assert await lease.acquire(sm, name, "a", now=NOW, ttl=TTL)
    assert not await lease.acquire(sm, name, "b", now=NOW + TTL - timedelta(seconds=1), ttl=TTL)
    assert await lease.current(sm, name, now=NOW + TTL) is None
    assert await lease.acquire(sm, name, "b", now=NOW + TTL, ttl=TTL)
    assert not await lease.acquire(sm, name, "a", now=NOW + TTL, ttl=TTL)  # a was too slow
    held = await lease.current(sm, name, now=NOW + TTL)
    assert held is not None and held.holder == "b"


async def test_only_the_holder_releases(db_sessionmaker: Sessions) -> None:
    sm, name = db_sessionmaker, fresh()
    assert await lease.acquire(sm, name, "a", now=NOW, ttl=TTL)
    assert not await lease.release(sm, name, "b")
    assert not await lease.acquire(sm, name, "b", now=NOW, ttl=TTL)
    assert await lease.release(sm, name, "a")
    assert not await lease.release(sm, name, "a")
    assert await lease.acquire(sm, name, "b", now=NOW, ttl=TTL)  # free again at once


async def test_leases_are_independent_by_name(db_sessionmaker: Sessions) -> None:
    sm, one, two = db_sessionmaker, fresh(), fresh()
    assert await lease.acquire(sm, one, "a", now=NOW, ttl=TTL)
    assert await lease.acquire(sm, two, "b", now=NOW, ttl=TTL)


@pytest.mark.parametrize(
    ("name", "holder", "ttl"),
    [("", "a", TTL), ("x" * 65, "a", TTL), ("n", "", TTL), ("n", "a", timedelta())],
)
async def test_bad_arguments_are_refused_before_the_database(
    name: str, holder: str, ttl: timedelta
) -> None:
    with pytest.raises(ValueError, match="lease"):
        await lease.acquire(None, name, holder, now=NOW, ttl=ttl)  # type: ignore[arg-type]


def test_holder_ids_differ() -> None:
    assert lease.holder_id() != lease.holder_id()


async def test_racing_engines_leave_exactly_one_holder(database_url: str) -> None:
    # Each engine stands for an ivr process (on SQLite: several writers on one file).
    engines = [make_engine(database_url) for _ in range(6)]
    makers = [make_sessionmaker(engine) for engine in engines]
    try:
        for round_ in range(5):
            name, now = fresh(), NOW + timedelta(minutes=round_)
            won = await asyncio.gather(
                *(lease.acquire(sm, name, f"p{i}", now=now, ttl=TTL) for i, sm in enumerate(makers))
            )
            assert sum(won) == 1, won
            # and when it has expired, again exactly one of them
            won = await asyncio.gather(
                *(
                    lease.acquire(sm, name, f"q{i}", now=now + TTL, ttl=TTL)
                    for i, sm in enumerate(makers)
                )
            )
            assert sum(won) == 1, won
    finally:
        await asyncio.gather(*(engine.dispose() for engine in engines))


_WORKER = textwrap.dedent(
    """
    import asyncio, sys, time
    from datetime import datetime, timedelta
    from ivr.db import lease
    from ivr.db.engine import make_engine, make_sessionmaker

    async def main(url, name, holder, at, start):
        engine = make_engine(url)
        sm = make_sessionmaker(engine)
        now = datetime.fromisoformat(at)
        async with engine.connect():  # connected before the start, so all ask at once
            pass
        await asyncio.sleep(max(0.0, start - time.time()))
        won = await lease.acquire(sm, name, holder, now=now, ttl=timedelta(seconds=60))
        await engine.dispose()
        print("won" if won else "lost")

    url, name, holder, at, start = sys.argv[1:]
    asyncio.run(main(url, name, holder, at, float(start)))
    """
)


@pytest.mark.postgres
async def test_separate_processes_leave_exactly_one_holder(postgres_database: str) -> None:
    name, start = fresh(), time.time() + 2
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _WORKER,
            postgres_database,
            name,
            f"process-{i}",
            NOW.isoformat(),
            str(start),
            stdout=asyncio.subprocess.PIPE,
        )
        for i in range(6)
    ]
    outputs = [(await w.communicate())[0].decode().strip() for w in workers]
    assert [w.returncode for w in workers] == [0] * 6
    assert sorted(outputs) == ["lost"] * 5 + ["won"]
    engine = make_engine(postgres_database)
    try:
        held = await lease.current(make_sessionmaker(engine), name, now=NOW)
    finally:
        await engine.dispose()
    assert held is not None and held.holder == f"process-{outputs.index('won')}"
