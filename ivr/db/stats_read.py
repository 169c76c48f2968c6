"""A period's statistics: the rollup (ivr.db.stats_rollup) for the days it holds, the live
queries (ivr.db.stats_queries) for the rest, added up by ivr.stats.digest.

A one-day page (its series is by hour) is always counted live: a day is cheap. Longer
periods read their settled days' calls, agents and steps from `stats_daily` and count the
other days (today, yesterday, any day the rollup job has not reached) live; `received` and
`due` come from the rollup once the case marks have caught up (a page view brings them up
to date first, reading at most `MARKS_ON_READ` changed cases), else they are counted live.
The rolled days and their rows are read in one snapshot, so a day rolled meanwhile is never
counted twice. Calls and cases are read in two sessions at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db import stats_marks, stats_rollup
from ivr.db import stats_queries as live
from ivr.db.calls import Sessions
from ivr.db.stats_models import StatsDaily, StatsDay
from ivr.db.stats_rollup import RollupConfig
from ivr.stats.digest import CallFacts, CaseFacts, Statistics, assemble
from ivr.stats.figures import CallSums, CaseSums
from ivr.stats.periods import Grain, Period

MARKS_ON_READ = 20_000
K = TypeVar("K")
V = TypeVar("V", CallSums, CaseSums, int)
CALL_FIELDS = tuple(f.name for f in dataclasses.fields(CallSums))
CASE_FIELDS = tuple(f.name for f in dataclasses.fields(CaseSums))


@dataclasses.dataclass
class _Parts:
    """Facts gathered from the rollup and the live queries, added up as they come."""

    by_bucket: dict[live.DeskKey, CallSums] = dataclasses.field(default_factory=dict)
    by_agent: dict[str, CallSums] = dataclasses.field(default_factory=dict)
    received: dict[live.ReceivedKey, int] = dataclasses.field(default_factory=dict)
    by_department: dict[live.DepartmentKey, CaseSums] = dataclasses.field(default_factory=dict)


def _add_into(target: dict[K, V], source: Mapping[K, V]) -> None:
    for key, value in source.items():
        target[key] = target[key] + value if key in target else value


async def statistics(
    sm: Sessions,
    period: Period,
    grain: Grain,
    config: RollupConfig,
    *,
    now: datetime,
    rollup: bool = True,
) -> Statistics:
    """The period's statistics, as of `now` (`rollup=False` counts everything live)."""
    parts, rolled, ready = _Parts(), frozenset[date](), False
    if rollup and grain is not Grain.HOUR:
        ready = await stats_marks.refresh_marks(sm, config, limit=MARKS_ON_READ)
        rolled, ready = await _from_rollup(sm, config, period, ready, parts)
    spans = _spans(period, rolled)
    hours = grain is Grain.HOUR
    await asyncio.gather(
        _live_calls(sm, config, spans, hours, parts),
        _live_cases(sm, config, period, spans, hours, ready, parts),
    )
    async with live.reading(sm) as session:
        names = await live.agent_names(session, [a for a in parts.by_agent if a])
    calls = CallFacts(parts.by_bucket, parts.by_agent, names)
    cases = CaseFacts(parts.received, parts.by_department)
    return assemble(period, grain, calls, cases, as_of=now)


def _spans(period: Period, rolled: frozenset[date]) -> list[tuple[date, date]]:
    """The runs of days of the period the rollup does not hold."""
    spans: list[tuple[date, date]] = []
    for n in range(period.days):
        day = period.first + timedelta(days=n)
        if day in rolled:
            continue
        if spans and spans[-1][1] == day - timedelta(days=1):
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


async def _live_calls(
    sm: Sessions,
    config: RollupConfig,
    spans: Sequence[tuple[date, date]],
    hours: bool,
    parts: _Parts,
) -> None:
    async with live.reading(sm) as session:
        for first, last in spans:
            scope = config.scope(first, last, hours=hours)
            _add_into(parts.by_bucket, await live.calls_by_bucket(session, scope))
            _add_into(parts.by_agent, await live.calls_by_agent(session, scope))


async def _live_cases(
    sm: Sessions,
    config: RollupConfig,
    period: Period,
    spans: Sequence[tuple[date, date]],
    hours: bool,
    ready: bool,
    parts: _Parts,
) -> None:
    async with live.reading(sm) as session:
        for first, last in spans:
            _add_into(parts.by_department, await live.steps(session, config.scope(first, last)))
        if not ready:
            whole = config.scope(period.first, period.last, hours=hours)
            _add_into(parts.received, await live.received(session, whole))
            _add_into(parts.by_department, await live.due(session, whole))


async def _from_rollup(
    sm: Sessions, config: RollupConfig, period: Period, ready: bool, parts: _Parts
) -> tuple[frozenset[date], bool]:
    # the rolled days and their rows from one snapshot; whether received and due were read
    async with live.reading(sm) as session:
        if not await stats_rollup.usable(session, config):
            return frozenset(), False
        ready = ready and await stats_marks.marks_ready(session, config)
        in_period = StatsDaily.day.between(period.first, period.last)
        days = select(StatsDay.day).where(StatsDay.day.between(period.first, period.last))
        rolled = frozenset(await session.scalars(days))
        await _daily_rows(session, in_period, ready, parts)
        await _summed_rows(session, in_period, ready, parts)
    return rolled, ready


async def _daily_rows(session: AsyncSession, in_period: Any, ready: bool, parts: _Parts) -> None:
    kinds = ["calls", "received"] if ready else ["calls"]
    columns = [getattr(StatsDaily, name) for name in (*CALL_FIELDS, "received")]
    query = select(
        StatsDaily.day, StatsDaily.kind, StatsDaily.key, StatsDaily.sub, StatsDaily.leader, *columns
    ).where(in_period, StatsDaily.kind.in_(kinds))
    for row in await session.execute(query):
        if row.kind == "calls":
            _add_into(parts.by_bucket, {(row.day, row.leader): live.call_sums(row)})
        elif row.received:
            _add_into(parts.received, {(row.day, row.key, row.sub, row.leader): row.received})


async def _summed_rows(session: AsyncSession, in_period: Any, ready: bool, parts: _Parts) -> None:
    kinds = ["agent", "steps", "due"] if ready else ["agent", "steps"]
    sums = [func.sum(getattr(StatsDaily, n)).label(n) for n in (*CALL_FIELDS, *CASE_FIELDS)]
    query = (
        select(StatsDaily.kind, StatsDaily.key, StatsDaily.leader, *sums)
        .where(in_period, StatsDaily.kind.in_(kinds))
        .group_by(StatsDaily.kind, StatsDaily.key, StatsDaily.leader)
    )
    for row in await session.execute(query):
        if row.kind == "agent":
            _add_into(parts.by_agent, {row.key: live.call_sums(row)})
        else:
            key = (row.key or None, bool(row.leader))
            _add_into(parts.by_department, {key: live.case_sums(row, CASE_FIELDS)})
