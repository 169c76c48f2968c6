"""The statistics as tables: what the pages show, the CSV and XLSX files hold, and the monthly
report prints, so all of them say the same thing.

A cell holds a raw value (a count, a ratio in [0, 1], seconds) and its column says how to
show it; a rate with nothing to measure is None and shows as "—". `TABLES` names every
table a page can export.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping, Sequence

from ivr.stats.digest import Statistics
from ivr.stats.figures import CallSums, CaseSums, ratio

Cell = str | int | float | None
NOTHING = "—"


class Unit(enum.StrEnum):
    """How a column's values read."""

    TEXT = "text"
    COUNT = "count"
    PERCENT = "percent"  # a ratio, shown ×100 with one decimal
    SECONDS = "seconds"  # one decimal
    HOURS = "hours"  # seconds, shown as hours with one decimal


@dataclasses.dataclass(frozen=True)
class Column:
    """A column: its key in the JSON, its header, its unit."""

    key: str
    label: str
    unit: Unit = Unit.COUNT


@dataclasses.dataclass(frozen=True)
class Table:
    """A titled table of raw values."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def shown(self) -> list[list[str]]:
        """The rows as the page shows them."""
        return [
            [show(v, c.unit) for v, c in zip(row, self.columns, strict=True)] for row in self.rows
        ]

    def header(self) -> list[str]:
        """The column headers."""
        return [c.label for c in self.columns]


@dataclasses.dataclass(frozen=True)
class Labels:
    """Names to show for codes: categories (taxonomy.toml) and classes (一般件...)."""

    categories: Mapping[str, str] = dataclasses.field(default_factory=dict)
    priorities: Mapping[str, str] = dataclasses.field(default_factory=dict)


def show(value: Cell, unit: Unit) -> str:
    """A value as text ("—" for nothing to show)."""
    if value is None:
        return NOTHING
    if unit is Unit.PERCENT and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if unit is Unit.SECONDS and isinstance(value, int | float):
        return f"{value:.1f}"
    if unit is Unit.HOURS and isinstance(value, int | float):
        return f"{value / 3600:.1f}"
    return str(value)


def _c(key: str, label: str, unit: Unit = Unit.COUNT) -> Column:
    return Column(key, label, unit)


# one figure of the summary: its label, how to get it, its numerator and denominator
Figure = tuple[str, str, Unit, Callable[[CallSums, CaseSums], tuple[Cell, Cell, Cell]]]
FIGURES: tuple[Figure, ...] = (
    ("offered", "呼入量", Unit.COUNT, lambda c, k: (c.offered, None, None)),
    ("answered", "接通量", Unit.COUNT, lambda c, k: (c.answered, None, None)),
    ("answer_rate", "接通率", Unit.PERCENT, lambda c, k: (c.answer_rate, c.answered, c.offered)),
    (
        "service_level",
        "15秒接通率",
        Unit.PERCENT,
        lambda c, k: (c.service_level, c.answered_within, c.offered),
    ),
    ("abandoned", "放弃量", Unit.COUNT, lambda c, k: (c.abandoned, None, None)),
    ("average_wait", "平均等待时长（秒）", Unit.SECONDS, lambda c, k: (c.average_wait, None, None)),
    ("average_talk", "平均通话时长（秒）", Unit.SECONDS, lambda c, k: (c.average_talk, None, None)),
    ("received", "受理量", Unit.COUNT, lambda c, k: (k.received, None, None)),
    ("dispatched", "交办量", Unit.COUNT, lambda c, k: (k.dispatched, None, None)),
    (
        "on_time_acceptance",
        "按时签收率",
        Unit.PERCENT,
        lambda c, k: (k.on_time_acceptance, k.accepted_on_time, k.accepted),
    ),
    (
        "on_time_reply",
        "按时回复率",
        Unit.PERCENT,
        lambda c, k: (k.on_time_reply, k.replied_on_time, k.replied),
    ),
    ("closure_rate", "办结率", Unit.PERCENT, lambda c, k: (k.closure_rate, k.closed, k.due)),
    (
        "satisfaction_rate",
        "满意率",
        Unit.PERCENT,
        lambda c, k: (k.satisfaction_rate, k.satisfied, k.surveyed),
    ),
    (
        "resolution_rate",
        "解决率",
        Unit.PERCENT,
        lambda c, k: (k.resolution_rate, k.resolved, k.surveyed),
    ),
    ("reworked", "重办件数", Unit.COUNT, lambda c, k: (k.reworked, None, None)),
)
_FIGURE_COLUMNS = (
    _c("figure", "指标", Unit.TEXT),
    _c("value", "数值", Unit.TEXT),
    _c("numerator", "分子"),
    _c("denominator", "分母"),
)


def figures(calls: CallSums, cases: CaseSums) -> dict[str, tuple[Cell, Cell, Cell]]:
    """Every summary figure by key: (value, numerator, denominator)."""
    return {key: get(calls, cases) for key, _, _, get in FIGURES}


def summary_table(key: str, title: str, calls: CallSums, cases: CaseSums) -> Table:
    """The figures of some calls and cases, one a row."""
    rows = []
    for _, label, unit, get in FIGURES:
        value, part, whole = get(calls, cases)
        rows.append((label, show(value, unit), part, whole))
    return Table(key, title, _FIGURE_COLUMNS, tuple(rows))


def series_table(stats: Statistics) -> Table:
    """The time series, a bucket a row."""
    columns = (
        _c("bucket", "时段", Unit.TEXT),
        _c("offered", "呼入量"),
        _c("answered", "接通量"),
        _c("answered_within", "15秒内接通"),
        _c("abandoned", "放弃量"),
        _c("answer_rate", "接通率", Unit.PERCENT),
        _c("service_level", "15秒接通率", Unit.PERCENT),
        _c("average_wait", "平均等待（秒）", Unit.SECONDS),
        _c("average_talk", "平均通话（秒）", Unit.SECONDS),
        _c("received", "受理量"),
    )
    rows = tuple(
        (
            point.bucket.label,
            point.calls.offered,
            point.calls.answered,
            point.calls.answered_within,
            point.calls.abandoned,
            point.calls.answer_rate,
            point.calls.service_level,
            point.calls.average_wait,
            point.calls.average_talk,
            point.received,
        )
        for point in stats.series
    )
    return Table("series", "话务与受理趋势", columns, rows)


def share_table(
    key: str, title: str, label: str, counts: Sequence[tuple[str, int]], names: Mapping[str, str]
) -> Table:
    """Counts of received cases by some code, with their share of the total."""
    whole = sum(n for _, n in counts)
    columns = (
        _c("name", label, Unit.TEXT),
        _c("received", "受理量"),
        _c("share", "占比", Unit.PERCENT),
    )
    rows = tuple((names.get(code, code), n, ratio(n, whole)) for code, n in counts)
    return Table(key, title, columns, rows)


DEPARTMENT_COLUMNS = (
    _c("rank", "名次"),
    _c("department", "承办单位", Unit.TEXT),
    _c("dispatched", "交办"),
    _c("accepted", "签收"),
    _c("on_time_acceptance", "按时签收率", Unit.PERCENT),
    _c("replied", "回复"),
    _c("on_time_reply", "按时回复率", Unit.PERCENT),
    _c("due", "应办结"),
    _c("closed", "已办结"),
    _c("closure_rate", "办结率", Unit.PERCENT),
    _c("surveyed", "回访"),
    _c("satisfaction_rate", "满意率", Unit.PERCENT),
    _c("resolution_rate", "解决率", Unit.PERCENT),
    _c("reworked", "重办"),
)


def department_table(stats: Statistics) -> Table:
    """The department league table, best 办结率 first (see ivr.stats.digest)."""
    rows = tuple(
        (
            rank,
            name or "（未交办）",
            s.dispatched,
            s.accepted,
            s.on_time_acceptance,
            s.replied,
            s.on_time_reply,
            s.due,
            s.closed,
            s.closure_rate,
            s.surveyed,
            s.satisfaction_rate,
            s.resolution_rate,
            s.reworked,
        )
        for rank, (name, s) in enumerate(stats.by_department, start=1)
    )
    return Table("departments", "承办单位办理情况排名", DEPARTMENT_COLUMNS, rows)


def agent_table(stats: Statistics) -> Table:
    """Each agent's answered calls, busiest first."""
    columns = (
        _c("agent", "坐席", Unit.TEXT),
        _c("name", "姓名", Unit.TEXT),
        _c("answered", "接通量"),
        _c("answered_within", "15秒内接通"),
        _c("average_wait", "平均等待（秒）", Unit.SECONDS),
        _c("average_talk", "平均通话（秒）", Unit.SECONDS),
        _c("talk_total", "通话总时长（小时）", Unit.HOURS),
    )
    rows = tuple(
        (
            line.interface or "（未记录坐席）",
            line.name,
            line.calls.answered,
            line.calls.answered_within,
            line.calls.average_wait,
            line.calls.average_talk,
            line.calls.talk_total,
        )
        for line in stats.by_agent
    )
    return Table("agents", "坐席接听情况", columns, rows)


def all_tables(stats: Statistics, labels: Labels) -> dict[str, Table]:
    """Every table of the statistics, by key (the order the page shows them in)."""
    tables = [
        summary_table("summary", "总体指标", stats.calls, stats.cases),
        series_table(stats),
        share_table("categories", "诉求分类", "分类", stats.by_category, labels.categories),
        share_table("priorities", "诉求类别", "类别", stats.by_priority, labels.priorities),
        department_table(stats),
        agent_table(stats),
        summary_table("leader", "领导接听日", stats.leader_calls, stats.leader_cases),
    ]
    return {table.key: table for table in tables}


TABLES = ("summary", "series", "categories", "priorities", "departments", "agents", "leader")
