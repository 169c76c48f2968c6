"""The pure parts of the statistics: periods in Beijing time and what a bad one says, the
zone offsets SQLite is given, the figures' empty cases, and the files for Excel."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from ivr.db.stats_sql import offset_pieces
from ivr.errors import ValidationError
from ivr.stats.exports import csv_bytes, xlsx_bytes
from ivr.stats.figures import CallSums, CaseSums
from ivr.stats.periods import (
    Grain,
    Kind,
    Period,
    buckets,
    days_between,
    parse_grain,
    parse_period,
    period_of,
)
from ivr.stats.tables import Column, Table, Unit, show, summary_table

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2024, 5, 15)


def test_a_period_is_whole_local_days() -> None:
    day = period_of(Kind.DAY, date(2024, 5, 1))
    assert day.span(SHANGHAI) == (
        datetime(2024, 4, 30, 16, tzinfo=UTC),
        datetime(2024, 5, 1, 16, tzinfo=UTC),
    )
    week = period_of(Kind.WEEK, date(2025, 1, 1))  # a Wednesday: its ISO week began in 2024
    assert (week.first, week.last) == (date(2024, 12, 30), date(2025, 1, 5))
    assert week.label() == "2025年第1周（12月30日—01月05日）"
    february = period_of(Kind.MONTH, date(2024, 2, 10))
    assert (february.first, february.last, february.days) == (
        date(2024, 2, 1),
        date(2024, 2, 29),
        29,
    )
    assert period_of(Kind.YEAR, TODAY).days == 366


@pytest.mark.parametrize(
    ("query", "wanted"),
    [
        ({}, Period(Kind.MONTH, date(2024, 5, 1), date(2024, 5, 31))),
        ({"period": "day"}, Period(Kind.DAY, TODAY, TODAY)),
        (
            {"period": "week", "date": "2024-05-01"},
            Period(Kind.WEEK, date(2024, 4, 29), date(2024, 5, 5)),
        ),
        (
            {"period": "month", "month": "2023-02"},
            Period(Kind.MONTH, date(2023, 2, 1), date(2023, 2, 28)),
        ),
        (
            {"period": "year", "year": "2023"},
            Period(Kind.YEAR, date(2023, 1, 1), date(2023, 12, 31)),
        ),
        (
            {"period": "range", "from": "2024-04-30", "to": "2024-05-01"},
            Period(Kind.RANGE, date(2024, 4, 30), date(2024, 5, 1)),
        ),
    ],
)
def test_the_query_string_names_a_period(query: dict[str, str], wanted: Period) -> None:
    assert parse_period(query, TODAY) == wanted


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"period": "fortnight"}, "统计周期 'fortnight' 无效"),
        ({"period": "day", "date": "2024-02-30"}, "不是有效日期"),
        ({"period": "day", "date": "2024/02/01"}, "格式应为 YYYY-MM-DD"),
        ({"period": "day", "date": "20240201"}, "不是有效日期"),
        ({"period": "day", "date": "1999-12-31"}, "超出可统计的范围"),
        ({"period": "month", "month": "2024-13"}, "月份 '2024-13' 无效"),
        ({"period": "month", "month": "2024-5"}, "格式应为 YYYY-MM"),
        ({"period": "year", "year": "24"}, "年份 '24' 无效"),
        ({"period": "range", "from": "2024-05-02", "to": "2024-05-01"}, "早于开始日期"),
        ({"period": "range", "from": "2024-01-01", "to": "2025-01-01"}, "最长 366 天"),
        ({"period": "range", "from": "2024-01-01"}, "缺少结束日期"),
    ],
)
def test_a_bad_period_says_what_is_wrong_in_chinese(query: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_period(query, TODAY)


def test_the_series_grain_must_suit_the_period() -> None:
    month = period_of(Kind.MONTH, TODAY)
    assert parse_grain(None, month) is Grain.DAY
    assert parse_grain("week", month) is Grain.WEEK
    assert parse_grain(None, period_of(Kind.DAY, TODAY)) is Grain.HOUR
    assert parse_grain(None, period_of(Kind.YEAR, TODAY)) is Grain.MONTH
    for bad in ("hour", "fortnight"):
        with pytest.raises(ValidationError, match="分组方式"):
            parse_grain(bad, month)


def test_buckets_cover_the_period_and_show_the_gaps() -> None:
    may = period_of(Kind.MONTH, date(2024, 5, 1))
    weeks = buckets(may, Grain.WEEK)  # 1 May is a Wednesday: the first week starts in April
    assert [b.key for b in weeks][:2] == [date(2024, 4, 29), date(2024, 5, 6)]
    assert [b.label for b in weeks][-1] == "2024-W22"
    assert len(buckets(may, Grain.DAY)) == 31
    hours = buckets(period_of(Kind.DAY, date(2024, 5, 1)), Grain.HOUR)
    assert (len(hours), hours[0].label, hours[-1].key) == (24, "00时", datetime(2024, 5, 1, 23))
    year = buckets(period_of(Kind.YEAR, date(2024, 1, 1)), Grain.MONTH)
    assert [b.label for b in year][::11] == ["2024-01", "2024-12"]
    assert len(buckets(days_between(date(2024, 1, 30), date(2024, 3, 2)), Grain.MONTH)) == 3


def test_sqlite_gets_one_offset_per_stretch_of_the_zone() -> None:
    year = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert offset_pieces(SHANGHAI, *year) == [(year[0], 480)]
    assert offset_pieces(ZoneInfo("Europe/Berlin"), *year) == [
        (year[0], 60),
        (datetime(2024, 3, 31, 1, tzinfo=UTC), 120),
        (datetime(2024, 10, 27, 1, tzinfo=UTC), 60),
    ]
    # China kept summer time until 1991
    old = offset_pieces(
        SHANGHAI, datetime(1991, 1, 1, tzinfo=UTC), datetime(1992, 1, 1, tzinfo=UTC)
    )
    assert [minutes for _, minutes in old] == [480, 540, 480]


def test_nothing_to_measure_is_no_rate_not_zero() -> None:
    assert CallSums().answer_rate is None and CallSums().average_talk is None
    assert CaseSums().closure_rate is None and CaseSums(due=4).closure_rate == 0.0
    both = CallSums(offered=2, answered=1, wait_total=10.0) + CallSums(
        offered=2, answered=1, wait_total=20.0
    )
    assert (both.answer_rate, both.average_wait) == (0.5, 15.0)
    assert both.tally().average_wait == 15.0  # the wallboard's own tally of the same sums
    assert show(None, Unit.PERCENT) == "—" and show(0.95, Unit.PERCENT) == "95.0%"
    table = summary_table("summary", "总体指标", CallSums(), CaseSums())
    assert dict((row[0], row[1]) for row in table.rows)["接通率"] == "—"


def risky_table() -> Table:
    """A table whose text cells look like spreadsheet formulas."""
    columns = (
        Column("name", "分类", Unit.TEXT),
        Column("n", "件数"),
        Column("share", "占比", Unit.PERCENT),
    )
    rows = (('=HYPERLINK("http://x","点我")', 3, 0.75), ("+1", 1, None), ("城市管理", 0, 0.0))
    return Table("categories", "诉求分类", columns, rows)


def test_csv_is_for_excel_and_never_a_formula() -> None:
    data = csv_bytes(risky_table())
    assert data.startswith("\ufeff".encode()) and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["分类", "件数", "占比"]
    assert rows[1] == ['\'=HYPERLINK("http://x","点我")', "3", "75.0%"]
    assert rows[2] == ["'+1", "1", "—"]


def test_xlsx_keeps_numbers_and_never_stores_a_formula() -> None:
    book = load_workbook(io.BytesIO(xlsx_bytes([risky_table()], "2024年05月")))
    sheet = book["诉求分类"]
    assert sheet["A1"].value == "2024年05月 诉求分类"
    assert [c.value for c in sheet[2]] == ["分类", "件数", "占比"]
    link = sheet["A3"]
    assert link.value == '=HYPERLINK("http://x","点我")' and link.data_type == "s"
    assert (sheet["B3"].value, sheet["C3"].value, sheet["C3"].number_format) == (3, 0.75, "0.0%")
    assert sheet["C4"].value == "—"
