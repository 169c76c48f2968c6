"""SQL pieces of the statistics that differ between SQLite and PostgreSQL: local days and
hours in the service time zone, seconds between two instants, and the wallboard's queue-call
rules (`ivr.db.wallboard`) as column expressions, so the database counts them.

Local time. PostgreSQL converts with the zone's rules (`timezone('Asia/Shanghai', at)`).
SQLite stores naive UTC text and knows no zones: the statistics span is cut where the
zone's UTC offset changes (Asia/Shanghai: never since 1991) and each piece is shifted by its
own offset (`date(at, '+480 minutes')`), which is exact for any zone.

Seconds. PostgreSQL subtracts exactly. On SQLite the whole seconds (`strftime('%s')`) and
the stored microseconds are subtracted apart, so 15.000 s stays exactly 15.0 and is "within
15 s" as the wallboard says; julianday() would be off by ~50 µs either way.

`tests/test_stats_calls.py` checks these expressions against `QueuedCall` on the same calls.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, Integer, String, and_, case, cast, func, literal, not_, or_
from sqlalchemy.sql.elements import ColumnElement

from ivr.db.models import Call
from ivr.db.wallboard import ANSWER_THRESHOLD_SECONDS

# SQLAlchemy's SQLite DATETIME text: 'YYYY-MM-DD HH:MM:SS.ffffff'; microseconds from here
_SQLITE_FRACTION_AT = 20
_STEP = timedelta(hours=1)


def offset_pieces(zone: tzinfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """[(from, UTC offset in minutes)] covering [start, end): a new piece at each change."""
    pieces = [(start, _minutes(zone, start))]
    at = start
    while at < end:
        later = min(at + _STEP, end)
        probe = later if later < end else end - timedelta(microseconds=1)
        if _minutes(zone, probe) != pieces[-1][1]:
            change = _change_between(zone, at, probe)
            pieces.append((change, _minutes(zone, change)))
        at = later
    return pieces


def _minutes(zone: tzinfo, at: datetime) -> int:
    offset = at.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return int(offset.total_seconds() // 60)


def _change_between(zone: tzinfo, before: datetime, after: datetime) -> datetime:
    # zones change their offset on a whole second: bisect the step down to it
    low, high = before, after
    while high - low > timedelta(seconds=1):
        middle = (low + (high - low) / 2).replace(microsecond=0)
        if _minutes(zone, middle) == _minutes(zone, low):
            low = middle
        else:
            high = middle
    return high


def day_expression(
    dialect: str,
    column: Any,
    zone: ZoneInfo,
    pieces: Sequence[tuple[datetime, int]],
    *,
    hours: bool = False,
) -> ColumnElement[object]:
    """The local day (or hour) an instant falls in; `bucket_key` reads the value."""
    if dialect == "postgresql":
        unit = literal("hour" if hours else "day", String, literal_execute=True)
        local = func.timezone(literal(zone.key, String, literal_execute=True), column)
        return func.date_trunc(unit, local)
    pattern = "%Y-%m-%d %H" if hours else "%Y-%m-%d"

    # SQLite's date functions round to the millisecond, which would move 23:59:59.9996 to
    # the next day: they are given the whole seconds only
    seconds = func.substr(column, 1, _SQLITE_FRACTION_AT - 1)

    def shifted(minutes: int) -> ColumnElement[object]:
        modifier = literal(f"{minutes:+d} minutes", String, literal_execute=True)
        return func.strftime(literal(pattern, String, literal_execute=True), seconds, modifier)

    if len(pieces) == 1:
        return shifted(pieces[0][1])
    whens = [(column < until, shifted(minutes)) for (_, minutes), (until, _) in _pairs(pieces)]
    return case(*whens, else_=shifted(pieces[-1][1]))


def _pairs(
    pieces: Sequence[tuple[datetime, int]],
) -> list[tuple[tuple[datetime, int], tuple[datetime, int]]]:
    return list(itertools.pairwise(pieces))


def bucket_key(value: object, hours: bool = False) -> date | datetime:
    """A bucket as the database returned it: a local date, or a local (naive) hour."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if hours else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    if hours:
        return datetime.strptime(text, "%Y-%m-%d %H")
    return date.fromisoformat(text)


def seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[float]:
    """later - earlier in seconds, exact to the microsecond on both backends."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", later - earlier), Float)
    whole = cast(func.strftime("%s", later), Integer) - cast(func.strftime("%s", earlier), Integer)
    fraction = _fraction(later) - _fraction(earlier)
    return cast(whole, Float) + fraction


def _fraction(column: Any) -> ColumnElement[float]:
    return cast(func.substr(column, _SQLITE_FRACTION_AT), Float)


def greatest(dialect: str, a: Any, b: float) -> ColumnElement[float]:
    """The larger of a column and a number (SQLite's max() takes several arguments)."""
    if dialect == "postgresql":
        return func.greatest(a, b)
    return func.max(a, b)


# --- the wallboard's rules (ivr.db.wallboard.QueuedCall) in SQL -------------------------


def answered() -> ColumnElement[bool]:
    """An agent answered (a completed conversation counts when AgentConnect was lost)."""
    return or_(Call.answered_at.is_not(None), Call.completed_at.is_not(None))


def abandoned() -> ColumnElement[bool]:
    """Not answered, and the caller gave up or hung up after joining the queue."""
    ended = or_(Call.abandoned_at.is_not(None), Call.ended_at.is_not(None))
    return and_(not_(answered()), ended)


def wait(dialect: str) -> ColumnElement[float]:
    """Seconds from joining the queue to the answer; NULL when not answered."""
    reached = func.coalesce(Call.answered_at, Call.completed_at)
    measured = greatest(dialect, seconds_between(dialect, reached, Call.queue_joined_at), 0.0)
    asterisk = greatest(dialect, Call.wait_seconds, 0.0)
    return case(
        (not_(answered()), None),
        (Call.wait_seconds.is_not(None), asterisk),
        else_=measured,
    )


def within(dialect: str, threshold: float = ANSWER_THRESHOLD_SECONDS) -> ColumnElement[bool]:
    """Answered with a wait of at most `threshold` seconds."""
    return and_(answered(), wait(dialect) <= threshold)


def count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows of a group meet `condition`."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def sum_if(condition: ColumnElement[bool], value: Any) -> ColumnElement[float]:
    """The total of `value` over the rows of a group that meet `condition`."""
    return func.coalesce(func.sum(case((condition, value), else_=None)), 0.0)
