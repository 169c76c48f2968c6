"""Statistics periods in the service time zone: a day, an ISO week, a month, a year or a range
of days, and the buckets (hours, days, weeks, months) their time series is cut into.

Every period is a run of whole local days (Asia/Shanghai for the hotline): a day is from
local midnight to the next, so a call at 23:59:59 belongs to its day and one at 00:00:00 to
the next. Weeks run Monday to Sunday (ISO 8601, as Chinese offices count them). `span` turns a
period into the UTC instants [start, end) the database is asked for.

`parse_period` reads the query string of the statistics pages; anything it cannot use is a
ValidationError whose message (in Chinese) the page shows with a 400.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ivr.duty.months import add_months
from ivr.errors import ValidationError

FIRST_YEAR, LAST_YEAR = 2000, 2099  # what a hotline's statistics can be about
MAX_RANGE_DAYS = 366
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")


class Kind(enum.StrEnum):
    """What a period is."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    RANGE = "range"


class Grain(enum.StrEnum):
    """What one point of a time series covers."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


KIND_LABELS = {
    Kind.DAY: "日",
    Kind.WEEK: "周",
    Kind.MONTH: "月",
    Kind.YEAR: "年",
    Kind.RANGE: "自定义",
}
GRAIN_LABELS = {Grain.HOUR: "按小时", Grain.DAY: "按日", Grain.WEEK: "按周", Grain.MONTH: "按月"}


@dataclasses.dataclass(frozen=True)
class Period:
    """The local days first..last (both included)."""

    kind: Kind
    first: date
    last: date

    @property
    def days(self) -> int:
        """How many days it holds."""
        return (self.last - self.first).days + 1

    def span(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """The UTC instants [start, end): local midnight of the first day to after the last."""
        return local_midnight(self.first, zone), local_midnight(self.last + timedelta(1), zone)

    def label(self) -> str:
        """How a page or a report names it."""
        if self.kind is Kind.DAY:
            return f"{self.first:%Y年%m月%d日}"
        if self.kind is Kind.WEEK:
            year, week, _ = self.first.isocalendar()
            return f"{year}年第{week}周（{self.first:%m月%d日}—{self.last:%m月%d日}）"
        if self.kind is Kind.MONTH:
            return f"{self.first:%Y年%m月}"
        if self.kind is Kind.YEAR:
            return f"{self.first:%Y年}"
        return f"{self.first:%Y年%m月%d日}—{self.last:%Y年%m月%d日}"

    def default_grain(self) -> Grain:
        """The series a page shows unless asked otherwise: hours of a day, months of a year."""
        if self.days == 1:
            return Grain.HOUR
        return Grain.DAY if self.days <= 62 else Grain.MONTH

    def grains(self) -> tuple[Grain, ...]:
        """The series grains that make sense for it."""
        if self.days == 1:
            return (Grain.HOUR, Grain.DAY)
        return (Grain.DAY, Grain.WEEK, Grain.MONTH)

    def query(self) -> dict[str, str]:
        """The query string that asks for this period again."""
        if self.kind is Kind.RANGE:
            return {"period": "range", "from": self.first.isoformat(), "to": self.last.isoformat()}
        return {"period": self.kind.value, "date": self.first.isoformat()}


@dataclasses.dataclass(frozen=True)
class Bucket:
    """One point of a series: its local start (a date, or a local hour) and its label."""

    key: date | datetime
    label: str


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """The UTC instant the local day starts at."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def period_of(kind: Kind, anchor: date) -> Period:
    """The day, week, month or year that holds `anchor` (a range is made by `days_between`)."""
    if kind is Kind.DAY:
        return Period(kind, anchor, anchor)
    if kind is Kind.WEEK:
        monday = anchor - timedelta(days=anchor.weekday())
        return Period(kind, monday, monday + timedelta(days=6))
    if kind is Kind.MONTH:
        first = anchor.replace(day=1)
        return Period(kind, first, add_months(first, 1) - timedelta(days=1))
    if kind is Kind.YEAR:
        return Period(kind, date(anchor.year, 1, 1), date(anchor.year, 12, 31))
    raise ValueError("a range has no anchor: use days_between")


def days_between(first: date, last: date) -> Period:
    """A range of days, or ValidationError when it runs backwards or is too long."""
    if last < first:
        raise ValidationError(f"结束日期 {last} 早于开始日期 {first}")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValidationError(f"统计范围最长 {MAX_RANGE_DAYS} 天")
    return Period(Kind.RANGE, first, last)


def parse_period(query: Mapping[str, str], today: date) -> Period:
    """The period a query string asks for (this month by default), or ValidationError."""
    raw = query.get("period", "") or Kind.MONTH.value
    try:
        kind = Kind(raw)
    except ValueError:
        choices = "、".join(k.value for k in Kind)
        raise ValidationError(f"统计周期 {raw!r} 无效：应为 {choices} 之一") from None
    if kind is Kind.RANGE:
        first = parse_day(query.get("from"), "开始日期 from")
        return days_between(first, parse_day(query.get("to"), "结束日期 to"))
    if kind is Kind.MONTH and query.get("month"):
        return period_of(kind, parse_month(query["month"]))
    if kind is Kind.YEAR and query.get("year"):
        return period_of(kind, parse_year(query["year"]))
    anchor = query.get("date")
    return period_of(kind, today if not anchor else parse_day(anchor, "日期 date"))


def parse_grain(value: str | None, period: Period) -> Grain:
    """The series grain asked for (the period's default when absent), or ValidationError."""
    if not value:
        return period.default_grain()
    allowed = period.grains()
    if value not in {g.value for g in allowed}:
        choices = "、".join(g.value for g in allowed)
        raise ValidationError(f"分组方式 {value!r} 无效：此统计周期可选 {choices}")
    return Grain(value)


def parse_day(value: str | None, name: str) -> date:
    """A YYYY-MM-DD date within the years statistics cover, or ValidationError."""
    if not value:
        raise ValidationError(f"缺少{name}（格式 YYYY-MM-DD）")
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationError(f"{name} {value!r} 不是有效日期：格式应为 YYYY-MM-DD，如 2025-03-01")
    return _within_years(day)


def parse_month(value: str) -> date:
    """The first day of a YYYY-MM month, or ValidationError."""
    found = _MONTH.fullmatch(value)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise ValidationError(f"月份 {value!r} 无效：格式应为 YYYY-MM，如 2025-03")
    return _within_years(date(int(found.group(1)), int(found.group(2)), 1))


def parse_year(value: str) -> date:
    """New Year's day of a YYYY year, or ValidationError."""
    if _YEAR.fullmatch(value) is None:
        raise ValidationError(f"年份 {value!r} 无效：格式应为 YYYY，如 2025")
    return _within_years(date(int(value), 1, 1))


def _within_years(day: date) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(f"日期 {day} 超出可统计的范围（{FIRST_YEAR}—{LAST_YEAR} 年）")
    return day


def bucket_start(day: date, grain: Grain) -> date:
    """The first day of the day, week or month bucket `day` falls in."""
    if grain is Grain.WEEK:
        return day - timedelta(days=day.weekday())
    if grain is Grain.MONTH:
        return day.replace(day=1)
    return day


def buckets(period: Period, grain: Grain) -> list[Bucket]:
    """Every bucket of the period in order, empty ones included (a chart shows the gaps)."""
    if grain is Grain.HOUR:
        return [
            Bucket(datetime.combine(day, time(hour)), f"{hour:02d}时")
            for day in _days(period)
            for hour in range(24)
        ]
    starts = sorted({bucket_start(day, grain) for day in _days(period)})
    return [Bucket(start, _bucket_label(start, grain)) for start in starts]


def _bucket_label(start: date, grain: Grain) -> str:
    if grain is Grain.WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grain is Grain.MONTH:
        return f"{start:%Y-%m}"
    return f"{start:%m-%d}"


def _days(period: Period) -> list[date]:
    return [period.first + timedelta(days=n) for n in range(period.days)]
