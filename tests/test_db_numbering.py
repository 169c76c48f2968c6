"""Case numbers: the local service day, the format, and uniqueness across processes."""

from __future__ import annotations

import asyncio
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.numbering import (
    allocate_case_number,
    format_case_number,
    parse_case_number,
    service_day,
)

pytest_plugins = ["tests.db_fixtures"]


def test_format_matches_the_hotline_convention() -> None:
    assert format_case_number(date(2026, 11, 27), 123) == "12345-20261127-000123"


def test_day_boundary_is_in_shanghai_time() -> None:
    assert service_day(datetime(2026, 11, 27, 15, 59, 59, tzinfo=UTC)) == date(2026, 11, 27)
    assert service_day(datetime(2026, 11, 27, 16, 30, tzinfo=UTC)) == date(2026, 11, 28)
    assert service_day(datetime(2026, 11, 27, 16, 30, tzinfo=UTC), "UTC") == date(2026, 11, 27)


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        service_day(datetime(2026, 11, 27, 16, 30))


@pytest.mark.parametrize("sequence", [0, -1, 1_000_000])
def test_sequence_out_of_range_is_refused(sequence: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        format_case_number(date(2026, 11, 27), sequence)


@pytest.mark.parametrize("text", ["12345-2026112-000001", "12346-20261127-000001", "x", ""])
def test_parse_refuses_what_is_not_a_case_number(text: str) -> None:
    with pytest.raises(ValueError, match="not a case number"):
        parse_case_number(text)


@given(st.dates(date(2000, 1, 1), date(9999, 12, 31)), st.integers(1, 999_999))
def test_format_and_parse_round_trip(day: date, sequence: int) -> None:
    number = format_case_number(day, sequence)
    assert len(number) == len("12345-20261127-000123")
    assert parse_case_number(number) == (day, sequence)


async def _allocate(sm: async_sessionmaker[AsyncSession], at: datetime) -> str:
    async with sm.begin() as session:
        return await allocate_case_number(session, at)


async def test_numbers_are_consecutive_and_restart_each_day(
    database_url: str, fresh_instant: Callable[[], datetime]
) -> None:
    engine = make_engine(database_url)
    sm = make_sessionmaker(engine)
    first, second = fresh_instant(), fresh_instant()
    try:
        numbers = [await _allocate(sm, first) for _ in range(3)]
        other_day = await _allocate(sm, second)
    finally:
        await engine.dispose()
    assert [parse_case_number(n)[1] for n in numbers] == [1, 2, 3]
    assert parse_case_number(other_day) == (service_day(second), 1)


async def test_a_rolled_back_allocation_leaves_no_gap(
    database_url: str, fresh_instant: Callable[[], datetime]
) -> None:
    engine = make_engine(database_url)
    sm = make_sessionmaker(engine)
    at = fresh_instant()
    try:
        with pytest.raises(RuntimeError):
            async with sm.begin() as session:
                await allocate_case_number(session, at)
                raise RuntimeError("registration failed after numbering")
        number = await _allocate(sm, at)
    finally:
        await engine.dispose()
    assert parse_case_number(number)[1] == 1


async def test_concurrent_writers_never_share_a_number(
    database_url: str, fresh_instant: Callable[[], datetime]
) -> None:
    # Several engines stand for several ivr processes (on SQLite: on one file).
    engines = [make_engine(database_url) for _ in range(4)]
    makers = [make_sessionmaker(e) for e in engines]
    at = fresh_instant()
    try:
        numbers = await asyncio.gather(*(_allocate(makers[i % 4], at) for i in range(60)))
    finally:
        await asyncio.gather(*(e.dispose() for e in engines))
    assert sorted(parse_case_number(n)[1] for n in numbers) == list(range(1, 61))


_WORKER = textwrap.dedent(
    """
    import asyncio, sys, time
    from datetime import datetime
    from ivr.db.engine import make_engine, make_sessionmaker
    from ivr.db.numbering import allocate_case_number

    async def main(url, at, count, start):
        engine = make_engine(url)
        sm = make_sessionmaker(engine)
        async def one():
            async with sm.begin() as session:
                return await allocate_case_number(session, at)
        await asyncio.sleep(max(0.0, start - time.time()))  # all workers start together
        numbers = await asyncio.gather(*(one() for _ in range(count)))
        await engine.dispose()
        print("\\n".join(numbers))

    url, at, count, start = sys.argv[1:]
    asyncio.run(main(url, datetime.fromisoformat(at), int(count), float(start)))
    """
)


async def _spawn(url: str, at: datetime, count: int, start: float) -> asyncio.subprocess.Process:
    args = ("-c", _WORKER, url, at.isoformat(), str(count), str(start))
    return await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE
    )


@pytest.mark.postgres
async def test_separate_processes_never_share_a_number(
    postgres_database: str, fresh_instant: Callable[[], datetime]
) -> None:
    at, start = fresh_instant(), time.time() + 2
    workers = [await _spawn(postgres_database, at, 15, start) for _ in range(4)]
    outputs = [(await w.communicate())[0].decode().split() for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0]
    numbers = [n for output in outputs for n in output]
    assert sorted(parse_case_number(n)[1] for n in numbers) == list(range(1, 61))
    assert {parse_case_number(n)[0] for n in numbers} == {service_day(at)}
