"""The call figures in SQL are the wallboard's: the same calls give the same tally, counted
by ivr.db.wallboard's own Python (`tally` over `QueuedCall`) and by the database, on SQLite
and PostgreSQL. And a call's local day is right in a zone that changes its clock.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db.models import Call
from ivr.db.stats_queries import Scope, calls_by_agent, calls_by_bucket, reading
from ivr.db.wallboard import QueuedCall, tally
from ivr.stats.figures import CallSums

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
DAY = datetime(2024, 5, 1, 16, 0, tzinfo=UTC)  # midnight, 2 May, Beijing time
SHANGHAI = ZoneInfo("Asia/Shanghai")
_ids = itertools.count(1)


def call(joined: datetime, **facts: Any) -> dict[str, Any]:
    """A queue call row with the given facts (None for the rest)."""
    n = next(_ids)
    row: dict[str, Any] = {
        "id": n,
        "uniqueid": f"c-{n}",
        "started_at": joined - timedelta(seconds=20),
        "stage": "queue",
        "via_fallback": False,
        "queue": "hotline-agents",
        "queue_joined_at": joined,
        "outcome": "in_progress",
        "needs_callback": False,
    }
    for name in ("answered_at", "completed_at", "abandoned_at", "ended_at", "wait_seconds"):
        row[name] = facts.get(name)
    row["agent"] = facts.get("agent", "PJSIP/6001" if facts.get("answered_at") else None)
    row["talk_seconds"] = facts.get("talk_seconds")
    return row


def after(seconds: float, at: datetime = DAY) -> datetime:
    """`seconds` after `at`."""
    return at + timedelta(seconds=seconds)


def odd_calls() -> list[dict[str, Any]]:
    """Calls with every fact the wallboard's rules look at, and their edges."""
    t = after(3600)
    return [
        call(t, answered_at=after(15, t), wait_seconds=15.0, talk_seconds=60.0),  # exactly 15 s
        call(t, answered_at=after(15.000001, t)),  # measured: just over
        call(t, answered_at=after(15, t)),  # measured: exactly 15 s
        call(after(0.123456, t), answered_at=after(15.123456, t)),  # with microseconds
        call(t, answered_at=after(40, t), wait_seconds=14.0),  # Asterisk's hold time wins
        call(t, answered_at=after(5, t), wait_seconds=-3.0),  # a negative hold time is 0
        call(t, completed_at=after(200, t), agent="PJSIP/6002"),  # AgentConnect lost
        call(t, abandoned_at=after(30, t), ended_at=after(30, t), wait_seconds=30.0),
        call(t, ended_at=after(50, t)),  # hung up without a QueueCallerAbandon
        call(t, abandoned_at=after(20, t), answered_at=after(25, t)),  # a late AgentConnect
        call(t),  # still waiting, or its end was lost
        call(t, answered_at=after(3, t), talk_seconds=None),  # still talking
    ]


def queued(row: dict[str, Any]) -> QueuedCall:
    """The wallboard's view of a row (as ivr.db.wallboard.queued_calls_since builds it)."""
    return QueuedCall(
        joined_at=row["queue_joined_at"],
        answered_at=row["answered_at"] or row["completed_at"],
        abandoned_at=row["abandoned_at"],
        ended_at=row["ended_at"],
        wait_seconds=row["wait_seconds"],
    )


async def test_the_database_tallies_calls_as_the_wallboard_does(own_sessionmaker: Sessions) -> None:
    rows = odd_calls()
    async with own_sessionmaker.begin() as session:
        await session.execute(insert(Call), rows)
    scope = Scope(DAY, DAY + timedelta(days=1), SHANGHAI)
    async with reading(own_sessionmaker) as session:
        [(key, sums)] = (await calls_by_bucket(session, scope)).items()
        agents = await calls_by_agent(session, scope)
    wallboard = tally([queued(r) for r in rows])
    assert key == (date(2024, 5, 2), False)
    mine = sums.tally()
    assert (mine.offered, mine.answered, mine.answered_within, mine.abandoned) == (
        wallboard.offered,
        wallboard.answered,
        wallboard.answered_within,
        wallboard.abandoned,
    )
    assert (mine.offered, mine.answered, mine.answered_within, mine.abandoned) == (12, 9, 6, 2)
    assert mine.average_wait == pytest.approx(wallboard.average_wait, abs=1e-9)
    assert (
        mine.service_level == wallboard.service_level and mine.answer_rate == wallboard.answer_rate
    )
    assert sums.talked == 1 and sums.talk_total == 60.0
    assert agents["PJSIP/6002"] == CallSums(1, 1, 0, 0, 200.0, 0, 0.0)
    assert sum(s.answered for s in agents.values()) == 9


async def test_local_days_follow_a_zone_that_changes_its_clock(own_sessionmaker: Sessions) -> None:
    berlin = ZoneInfo("Europe/Berlin")  # summer time from 02:00, 31 March 2024

    def local(*parts: int) -> datetime:
        return datetime(*parts, tzinfo=berlin).astimezone(UTC)

    joined = [
        local(2024, 3, 30, 23, 30),
        local(2024, 3, 31, 0, 30),
        local(2024, 3, 31, 23, 30),  # +02:00 by now
        local(2024, 4, 1, 0, 30),  # 22:30 UTC on the 31st: a fixed +01:00 would say the 31st
    ]
    async with own_sessionmaker.begin() as session:
        await session.execute(insert(Call), [call(at) for at in joined])
    start = datetime(2024, 3, 30, tzinfo=berlin).astimezone(UTC)
    for hours in (False, True):
        scope = Scope(start, start + timedelta(days=3), berlin, hours=hours)
        async with reading(own_sessionmaker) as session:
            found = await calls_by_bucket(session, scope)
        keys = sorted(key for key, _ in found)
        if hours:
            assert keys == [
                datetime(2024, 3, 30, 23),
                datetime(2024, 3, 31, 0),
                datetime(2024, 3, 31, 23),
                datetime(2024, 4, 1, 0),
            ]
        else:
            assert keys == [date(2024, 3, 30), date(2024, 3, 31), date(2024, 4, 1)]
            assert found[(date(2024, 3, 31), False)].offered == 2
