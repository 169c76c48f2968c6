"""Keeping the statistics rollup (ivr.db.stats_models) up to date.

Two kinds of rows, kept two ways:

- Settled days (`roll_days`). What happened on a day (calls joined, steps taken, surveys
  answered) no longer changes once the day is over and its late queue events are in: a day
  is rolled `settle` (1 day) after it ends, once, its rows and its `stats_days` entry in one
  transaction; the sums are computed from a read snapshot first, so the write lock is held
  only to insert them. A late event for a call more than a day old is not counted again.
- Cases (`ivr.db.stats_marks`): `received` and `due`, which change as cases do, are kept up
  to date case by case.

Both take the rollup's `lock` (an advisory lock on PostgreSQL; SQLite's write lock), so two
processes never add the same difference twice. The rows depend on the time zone, the
leader's desk queue and the 15 s threshold: when the settings change, the rollup is emptied
and built again.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db import stats_queries as live
from ivr.db.calls import Sessions
from ivr.db.engine import dialect_insert
from ivr.db.models import Call
from ivr.db.stats_models import StatsCaseMark, StatsDaily, StatsDay, StatsState
from ivr.db.wallboard import ANSWER_THRESHOLD_SECONDS
from ivr.db.workflow_models import CaseAssignment
from ivr.stats.figures import CallSums, CaseSums
from ivr.stats.periods import local_midnight

_LOCK_KEY = 12345_0009
SETTINGS, MARKS = "settings", "marks"
EVENT_KINDS = ("calls", "agent", "steps")
DailyKey = tuple[date, str, str, str, bool]


@dataclasses.dataclass(frozen=True)
class RollupConfig:
    """What the rollup's rows depend on."""

    zone: ZoneInfo
    leader_queue: str = "leader-desk"
    threshold: float = ANSWER_THRESHOLD_SECONDS
    settle: timedelta = timedelta(days=1)

    def fingerprint(self) -> str:
        """The settings the rows were computed with, as one string."""
        return f"{self.zone.key}|{self.leader_queue}|{self.threshold:g}"

    def scope(self, first: date, last: date, *, hours: bool = False) -> live.Scope:
        """The live queries' scope over the local days first..last."""
        start = local_midnight(first, self.zone)
        end = local_midnight(last + timedelta(days=1), self.zone)
        return live.Scope(start, end, self.zone, hours, self.leader_queue, self.threshold)

    def last_settled(self, now: datetime) -> date:
        """The latest day that may be rolled at `now`."""
        day = (now - self.settle).astimezone(self.zone).date()
        while local_midnight(day + timedelta(days=1), self.zone) + self.settle > now:
            day -= timedelta(days=1)
        return day


async def lock(session: AsyncSession) -> None:
    """Take the rollup's lock for this transaction (SQLite's write lock is one already)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})"))


async def state_row(session: AsyncSession, name: str) -> StatsState | None:
    """A named bookkeeping row."""
    return await session.get(StatsState, name)


async def checked(session: AsyncSession, config: RollupConfig) -> bool:
    """Under the lock: throw away rows made with other settings (True: there were some)."""
    settings = await state_row(session, SETTINGS)
    if settings is not None and settings.text == config.fingerprint():
        return False
    for table in (StatsDaily, StatsDay, StatsCaseMark, StatsState):
        await session.execute(delete(table))
    session.add(StatsState(name=SETTINGS, text=config.fingerprint()))
    await session.flush()
    return True


async def usable(session: AsyncSession, config: RollupConfig) -> bool:
    """Whether the rollup's rows were made with these settings."""
    settings = await state_row(session, SETTINGS)
    return settings is not None and settings.text == config.fingerprint()


# --- settled days -------------------------------------------------------------------------


async def roll_days(sm: Sessions, config: RollupConfig, *, now: datetime, limit: int) -> int:
    """Roll up to `limit` settled days not rolled yet, newest first; how many were."""
    async with sm.begin() as session:  # rows of other settings go first
        await lock(session)
        await checked(session, config)
    async with live.reading(sm) as session:
        first = await _first_day(session, config.zone)
        last = config.last_settled(now)
        rolled = set(await session.scalars(select(StatsDay.day).where(StatsDay.day <= last)))
    if first is None:
        return 0
    done = 0
    day = last
    while day >= first and done < limit:
        if day not in rolled and await roll_day(sm, config, day, now=now):
            done += 1
        day -= timedelta(days=1)
    return done


async def _first_day(session: AsyncSession, zone: ZoneInfo) -> date | None:
    firsts = [
        await session.scalar(select(func.min(Call.queue_joined_at))),
        await session.scalar(select(func.min(CaseAssignment.dispatched_at))),
    ]
    known = [at for at in firsts if at is not None]
    return min(known).astimezone(zone).date() if known else None


async def roll_day(sm: Sessions, config: RollupConfig, day: date, *, now: datetime) -> bool:
    """Roll one day (False: it was rolled already)."""
    scope = config.scope(day, day)
    async with live.reading(sm) as session:
        calls = await live.calls_by_bucket(session, scope)
        agents = await live.calls_by_agent(session, scope)
        steps = await live.steps(session, scope)
    rows = [daily_row((day, "calls", "", "", lead), s) for (_, lead), s in calls.items()]
    rows += [daily_row((day, "agent", agent, "", False), s) for agent, s in agents.items()]
    rows += [daily_row((day, "steps", d or "", "", lead), s) for (d, lead), s in steps.items()]
    async with sm.begin() as session:
        await lock(session)
        await checked(session, config)
        if await session.get(StatsDay, day) is not None:
            return False
        if rows:
            await session.execute(dialect_insert(session, StatsDaily.__table__), rows)
        session.add(StatsDay(day=day, rolled_at=now))
    return True


def daily_row(key: DailyKey, sums: CallSums | CaseSums) -> dict[str, Any]:
    """A `stats_daily` row of some sums."""
    day, kind, name, sub, leader = key
    values: dict[str, Any] = {c.name: 0 for c in StatsDaily.__table__.columns}
    values |= {"day": day, "kind": kind, "key": name, "sub": sub, "leader": leader}
    return values | dataclasses.asdict(sums)
