"""A period's statistics put together from the database's grouped sums (ivr.db.stats_queries).

The database groups by local day (or hour) and by department, agent, category and class;
this module adds the groups up into the series buckets, the totals and the leader-day
figures, zero-fills empty buckets and ranks the tables. It is pure: the same facts always
give the same `Statistics`.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import TypeVar

from ivr.stats.figures import CallSums, CaseSums, total
from ivr.stats.periods import Bucket, Grain, Period, bucket_start, buckets

BucketKey = date | datetime
K = TypeVar("K")
G = TypeVar("G")
S = TypeVar("S", CallSums, CaseSums)


@dataclasses.dataclass(frozen=True)
class CallFacts:
    """Grouped call sums: by (local bucket, offered to the leader's desk) and by agent."""

    by_bucket: Mapping[tuple[BucketKey, bool], CallSums]
    by_agent: Mapping[str, CallSums]
    agent_names: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class CaseFacts:
    """Grouped case sums: received by (bucket, category, class, leader's) and the rest by
    (department, leader's); department None: a survey of a round nobody was dispatched in."""

    received: Mapping[tuple[BucketKey, str, str, bool], int]
    by_department: Mapping[tuple[str | None, bool], CaseSums]


@dataclasses.dataclass(frozen=True)
class SeriesPoint:
    """One bucket of the time series."""

    bucket: Bucket
    calls: CallSums
    received: int


@dataclasses.dataclass(frozen=True)
class AgentLine:
    """One agent's answered calls."""

    interface: str
    name: str
    calls: CallSums


@dataclasses.dataclass(frozen=True)
class Statistics:
    """Everything the statistics pages, exports and the monthly report show of a period."""

    period: Period
    grain: Grain
    as_of: datetime
    series: tuple[SeriesPoint, ...]
    calls: CallSums
    cases: CaseSums
    by_category: tuple[tuple[str, int], ...]
    by_priority: tuple[tuple[str, int], ...]
    by_department: tuple[tuple[str, CaseSums], ...]
    by_agent: tuple[AgentLine, ...]
    leader_calls: CallSums
    leader_cases: CaseSums


def assemble(
    period: Period, grain: Grain, calls: CallFacts, cases: CaseFacts, *, as_of: datetime
) -> Statistics:
    """The period's statistics from the grouped sums."""
    received_total = sum(cases.received.values())
    leader_received = sum(n for (_, _, _, leader), n in cases.received.items() if leader)
    departments = _summed(cases.by_department.items(), lambda key: key[0] or "", CaseSums())
    leader_parts = (s for (_, leader), s in cases.by_department.items() if leader)
    return Statistics(
        period=period,
        grain=grain,
        as_of=as_of,
        series=_series(period, grain, calls, cases),
        calls=total(calls.by_bucket.values(), CallSums()),
        cases=total(departments.values(), CaseSums(received=received_total)),
        by_category=_counted(cases, lambda key: key[1]),
        by_priority=_counted(cases, lambda key: key[2]),
        by_department=tuple(sorted(departments.items(), key=_league_order)),
        by_agent=_agents(calls),
        leader_calls=total((s for (_, leader), s in calls.by_bucket.items() if leader), CallSums()),
        leader_cases=total(leader_parts, CaseSums(received=leader_received)),
    )


def _series(
    period: Period, grain: Grain, calls: CallFacts, cases: CaseFacts
) -> tuple[SeriesPoint, ...]:
    def key_of(raw: BucketKey) -> BucketKey:
        if grain is Grain.HOUR or isinstance(raw, datetime):
            return raw
        return bucket_start(raw, grain)

    call_sums = _summed(calls.by_bucket.items(), lambda key: key_of(key[0]), CallSums())
    received: dict[BucketKey, int] = defaultdict(int)
    for (raw, _, _, _), count in cases.received.items():
        received[key_of(raw)] += count
    return tuple(
        SeriesPoint(b, call_sums.get(b.key, CallSums()), received.get(b.key, 0))
        for b in buckets(period, grain)
    )


def _summed(items: Iterable[tuple[K, S]], group: Callable[[K], G], empty: S) -> dict[G, S]:
    out: dict[G, S] = {}
    for key, sums in items:
        name = group(key)
        out[name] = out.get(name, empty) + sums
    return out


def _counted(
    cases: CaseFacts, part: Callable[[tuple[BucketKey, str, str, bool]], str]
) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = defaultdict(int)
    for key, count in cases.received.items():
        counts[part(key)] += count
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _league_order(item: tuple[str, CaseSums]) -> tuple[float, float, float, str]:
    # 办结率 first, then 满意率, then 按时回复率; a department with nothing due ranks last
    name, sums = item
    return (
        -_or_below(sums.closure_rate),
        -_or_below(sums.satisfaction_rate),
        -_or_below(sums.on_time_reply),
        name,
    )


def _or_below(rate: float | None) -> float:
    return -1.0 if rate is None else rate


def _agents(calls: CallFacts) -> tuple[AgentLine, ...]:
    lines = [
        AgentLine(interface, calls.agent_names.get(interface, ""), sums)
        for interface, sums in calls.by_agent.items()
    ]
    return tuple(sorted(lines, key=lambda line: (-line.calls.answered, line.interface)))
