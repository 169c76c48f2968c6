"""The statistics page (统计分析) for the office and the duty leaders, and the routes of the
statistics (the JSON, the exports and the 月报 are in ivr.web.stats_api).

GET /stats    ?period=…&date=…&by=… (as /api/stats): the period's figures as tiles, the
              call and answer-rate trend, cases by category and class, the department league
              table, the agents, the leader-day figures on their own, and download links

Everything is drawn on the server: the charts are inline SVG (ivr.web.stats_svg), the
period selector is a plain GET form, so the page needs no script at all. A period the
server cannot read is a 400 page saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from html import escape
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from ivr.stats.digest import Statistics
from ivr.stats.figures import CallSums, CaseSums
from ivr.stats.periods import GRAIN_LABELS, KIND_LABELS, Kind, Period, days_between, period_of
from ivr.stats.tables import FIGURES, NOTHING, Table, Unit, show
from ivr.web import stats_api
from ivr.web.guard import logged_in, require_role
from ivr.web.html import page
from ivr.web.pages import user_bar
from ivr.web.state import policy_key
from ivr.web.stats_api import VIEWERS, StatsView, asked_period, view_of
from ivr.web.stats_svg import TARGET, rate_bar, series_chart, share_chart

TITLE = "统计分析"
RATE_COLUMNS = ("on_time_acceptance", "on_time_reply", "closure_rate", "satisfaction_rate")
# tiles: the figures the office looks at first, and those held against the 95 % target
TILES = frozenset(
    {"offered", "answered", "answer_rate", "service_level", "abandoned", "average_wait"}
    | {"average_talk", "received", "dispatched", "on_time_acceptance", "on_time_reply"}
    | {"closure_rate", "satisfaction_rate", "resolution_rate", "reworked"}
)
TARGETED = ("answer_rate",)
NAV = (
    '<p class="stats-nav"><a href="/office">返回管理台</a> · <a href="/wallboard">话务大屏</a></p>'
)


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the statistics page, its JSON, its exports and the monthly report."""
    router.add_get("/stats", stats_page)
    router.add_get("/api/stats", stats_api.stats_json)
    router.add_get(r"/stats/export/{table}.{ext:csv|xlsx}", stats_api.export_table)
    router.add_get("/stats/report.pdf", stats_api.monthly_report)


@require_role(*VIEWERS)
async def stats_page(request: web.Request) -> web.StreamResponse:
    """The statistics page of the asked period."""
    session = logged_in(request)
    period, grain = asked_period(request)
    view = await view_of(request, period, grain)
    asked_grain = request.query.get("by", "")
    zone = request.config_dict[policy_key].timezone
    return page(
        TITLE,
        body(view, zone, asked_grain),
        header=user_bar(session),
        csrf_token=session.csrf_token,
        styles=("stats.css",),
        wide=True,
    )


def body(view: StatsView, zone: ZoneInfo, asked_grain: str) -> str:
    """The page under its title."""
    stats = view.stats
    query = _query(stats.period, asked_grain)
    return "\n".join(
        [
            NAV,
            _form(stats.period, asked_grain),
            _heading(stats, zone, asked_grain),
            _section("summary", "总体指标", _tiles(stats.calls, stats.cases), query, "summary"),
            _series(view, query),
            _categories(view, query),
            _departments(view, query),
            _section("agents", "坐席接听情况", _table(view.tables["agents"]), query, "agents"),
            _leader(view, query),
            _downloads(stats.period, query),
        ]
    )


def _query(period: Period, grain: str) -> str:
    # escaped: it goes into href attributes
    return escape(urlencode(period.query() | ({"by": grain} if grain else {})))


def _form(period: Period, grain: str) -> str:
    kinds = "".join(
        f'<option value="{k.value}"{" selected" if k is period.kind else ""}>{label}</option>'
        for k, label in KIND_LABELS.items()
    )
    grains = '<option value="">自动</option>' + "".join(
        f'<option value="{g.value}"{" selected" if g.value == grain else ""}>{label}</option>'
        for g, label in GRAIN_LABELS.items()
    )
    ranged = period.kind is Kind.RANGE
    first, last = (period.first, period.last) if ranged else ("", "")
    return f"""<form id="stats-period" class="stats-period" method="get" action="/stats">
<label>统计周期 <select name="period">{kinds}</select></label>
<label>日期 <input type="date" name="date" value="{period.first.isoformat()}"></label>
<label>自定义：从 <input type="date" name="from" value="{first}"></label>
<label>至 <input type="date" name="to" value="{last}"></label>
<label>趋势 <select name="by">{grains}</select></label>
<button type="submit">查询</button>
</form>"""


def _heading(stats: Statistics, zone: ZoneInfo, grain: str) -> str:
    period = stats.period
    before, after = _neighbours(period)
    as_of = stats.as_of.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return (
        '<p class="stats-step">'
        f'<a id="stats-prev" href="/stats?{_query(before, grain)}">‹ 上一期</a>'
        f' <strong id="stats-label">{escape(period.label())}</strong>'
        f' <a id="stats-next" href="/stats?{_query(after, grain)}">下一期 ›</a>'
        f' <span class="muted">统计截至 {as_of}（{escape(zone.key)}）</span></p>'
    )


def _neighbours(period: Period) -> tuple[Period, Period]:
    if period.kind is Kind.RANGE:
        span = timedelta(days=period.days)
        return (
            days_between(period.first - span, period.last - span),
            days_between(period.first + span, period.last + span),
        )
    return (
        period_of(period.kind, period.first - timedelta(days=1)),
        period_of(period.kind, period.last + timedelta(days=1)),
    )


def _section(key: str, title: str, inner: str, query: str, table: str = "") -> str:
    links = ""
    if table:
        links = (
            f'<p class="stats-export">导出：<a href="/stats/export/{table}.csv?{query}">CSV</a>'
            f' · <a href="/stats/export/{table}.xlsx?{query}">Excel</a></p>'
        )
    return (
        f'<section id="stats-{key}" class="stats-section">\n<h2>{title}</h2>\n'
        f"{inner}\n{links}</section>"
    )


def _tiles(calls: CallSums, cases: CaseSums) -> str:
    tiles = []
    for key, label, unit, get in FIGURES:
        if key not in TILES:
            continue
        value, part, whole = get(calls, cases)
        alert = key in TARGETED and isinstance(value, float) and value < TARGET
        note = f"<small>{part} / {whole}</small>" if whole is not None else ""
        tiles.append(
            f'<div class="tile{" alert" if alert else ""}" data-figure="{key}">'
            f"<span>{escape(label)}</span><strong>{escape(show(value, unit))}</strong>{note}</div>"
        )
    return f'<div class="tiles">{"".join(tiles)}</div>'


def _table(table: Table) -> str:
    if not table.rows:
        return f'<p class="muted" data-empty="{table.key}">本期没有数据（{NOTHING}）</p>'
    head = "".join(f"<th>{escape(c.label)}</th>" for c in table.columns)
    rows = "\n".join(
        f"<tr>{''.join(_cells(table, raw, shown))}</tr>"
        for raw, shown in zip(table.rows, table.shown(), strict=True)
    )
    return (
        f'<table class="stats-table" data-table="{table.key}"><thead><tr>{head}</tr></thead>'
        f"<tbody>\n{rows}\n</tbody></table>"
    )


def _cells(table: Table, raw: Sequence[object], shown: Sequence[str]) -> Iterable[str]:
    for column, value, text in zip(table.columns, raw, shown, strict=True):
        numeric = ' class="num"' if column.unit is not Unit.TEXT else ""
        attributes = f'{numeric} data-key="{column.key}"'
        if table.key == "departments" and column.key in RATE_COLUMNS:
            attributes = f' class="rate" data-key="{column.key}"'
            yield f"<td{attributes}>{rate_bar(value if isinstance(value, float) else None)}</td>"
        else:
            yield f"<td{attributes}>{escape(text)}</td>"


def _series(view: StatsView, query: str) -> str:
    stats = view.stats
    title = f"{stats.period.label()} 来电与接通率（{GRAIN_LABELS[stats.grain]}）"
    inner = series_chart(stats.series, title)
    inner += f"<details><summary>明细</summary>{_table(view.tables['series'])}</details>"
    return _section("series", "话务趋势", inner, query, "series")


def _categories(view: StatsView, query: str) -> str:
    names = view.labels.categories
    rows = [(names.get(code, code), n) for code, n in view.stats.by_category]
    inner = share_chart(rows, "各类诉求受理量") + _table(view.tables["categories"])
    inner += "<h3>诉求类别</h3>" + _table(view.tables["priorities"])
    inner += (
        f'<p class="stats-export">导出类别：<a href="/stats/export/priorities.csv?{query}">CSV</a>'
        f' · <a href="/stats/export/priorities.xlsx?{query}">Excel</a></p>'
    )
    return _section("categories", "诉求分类", inner, query, "categories")


def _departments(view: StatsView, query: str) -> str:
    note = '<p class="muted">按办结率排名，其次满意率、按时回复率；无应办结工单的单位排在最后。</p>'
    inner = note + _table(view.tables["departments"])
    return _section("departments", "承办单位排名", inner, query, "departments")


def _leader(view: StatsView, query: str) -> str:
    stats = view.stats
    note = '<p class="muted">进入领导专线的来电与领导接听的工单（同时计入总体指标）。</p>'
    inner = note + _tiles(stats.leader_calls, stats.leader_cases)
    return _section("leader", "领导接听日", inner, query, "leader")


def _downloads(period: Period, query: str) -> str:
    month, name = period.first.strftime("%Y-%m"), f"{period.first:%Y年%m月}月报（PDF）"
    links = (
        ("stats-all-xlsx", f"/stats/export/all.xlsx?{query}", "全部统计表（Excel）"),
        ("stats-summary-csv", f"/stats/export/summary.csv?{query}", "总体指标（CSV）"),
        ("stats-monthly", f"/stats/report.pdf?month={month}", name),
    )
    items = "".join(
        f'<li><a id="{key}" href="{href}">{label}</a></li>' for key, href, label in links
    )
    inner = f"<ul>{items}</ul>"
    return _section("downloads", "下载", inner, query)
