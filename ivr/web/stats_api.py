"""The statistics as JSON and as files: the figures of a period, each table as CSV or XLSX,
and the monthly report (月报) as PDF. For the office and the duty leaders.

GET /api/stats                    ?period=day|week|month|year|range &date=YYYY-MM-DD
                                  (month=YYYY-MM, year=YYYY, from=&to= for a range) &by=
                                  hour|day|week|month: the figures and every table
GET /stats/export/{table}.csv     one table (ivr.stats.tables.TABLES), same query
GET /stats/export/{table}.xlsx    one table, or `all` for a workbook of every table
GET /stats/report.pdf             ?month=YYYY-MM (this month by default): the 月报

A period or date the server cannot read is a 400 with a message in Chinese. In the JSON,
`figures` gives rates in percent with one decimal (as the wallboard does) and seconds to
one decimal; `tables` gives raw values (a `percent` column holds ratios in [0, 1]), with
null where there is nothing to measure.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ivr.cases.taxonomy import load_taxonomy
from ivr.db.models import Role
from ivr.db.stats_read import statistics
from ivr.db.stats_rollup import RollupConfig
from ivr.errors import ValidationError
from ivr.reports import monthly
from ivr.stats import exports
from ivr.stats.digest import Statistics
from ivr.stats.periods import Grain, Kind, Period, parse_grain, parse_month, parse_period, period_of
from ivr.stats.tables import TABLES, Labels, Table, all_tables, figures
from ivr.web.guard import logged_in, require_role
from ivr.web.state import clock_key, db_key, policy_key, settings_key
from ivr.web.workflow_render import PRIORITY_LABELS

VIEWERS = (Role.OFFICE, Role.LEADER)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclasses.dataclass(frozen=True)
class StatsView:
    """A request's statistics with the names to show and its tables."""

    stats: Statistics
    labels: Labels
    tables: dict[str, Table]


def rollup_config(request: web.Request) -> RollupConfig:
    """The rollup's settings for this app."""
    app = request.config_dict
    return RollupConfig(app[policy_key].timezone, app[settings_key].leader_queue_name)


async def labels() -> Labels:
    """Category names from taxonomy.toml and the class names."""
    taxonomy = await asyncio.to_thread(load_taxonomy)  # the first load builds a tokenizer
    return Labels({c.code: c.name for c in taxonomy.categories}, PRIORITY_LABELS)


async def view_of(request: web.Request, period: Period, grain: Grain) -> StatsView:
    """The statistics of a period, ready to show."""
    app = request.config_dict
    config = rollup_config(request)
    stats = await statistics(app[db_key], period, grain, config, now=app[clock_key]())
    names = await labels()
    return StatsView(stats, names, all_tables(stats, names))


def asked_period(request: web.Request) -> tuple[Period, Grain]:
    """The period and series grain the query string asks for, or 400 saying why not."""
    zone = request.config_dict[policy_key].timezone
    today = request.config_dict[clock_key]().astimezone(zone).date()
    try:
        period = parse_period(request.query, today)
        return period, parse_grain(request.query.get("by"), period)
    except ValidationError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None


@require_role(*VIEWERS)
async def stats_json(request: web.Request) -> web.StreamResponse:
    """The period's figures and tables as JSON."""
    view = await view_of(request, *asked_period(request))
    return web.json_response(view_json(view, request.config_dict[policy_key].timezone.key))


def view_json(view: StatsView, zone: str) -> dict[str, Any]:
    """The JSON form of a period's statistics (see the module)."""
    stats = view.stats
    period = stats.period
    return {
        "period": {
            "kind": period.kind.value,
            "first": period.first.isoformat(),
            "last": period.last.isoformat(),
            "days": period.days,
            "label": period.label(),
        },
        "grain": stats.grain.value,
        "as_of": stats.as_of.isoformat(),
        "timezone": zone,
        "figures": figures_json(figures(stats.calls, stats.cases)),
        "calls": dataclasses.asdict(stats.calls),
        "cases": dataclasses.asdict(stats.cases),
        "leader": {
            "figures": figures_json(figures(stats.leader_calls, stats.leader_cases)),
            "calls": dataclasses.asdict(stats.leader_calls),
            "cases": dataclasses.asdict(stats.leader_cases),
        },
        "tables": {key: table_json(table) for key, table in view.tables.items()},
    }


def figures_json(values: Mapping[str, tuple[object, object, object]]) -> dict[str, Any]:
    """Figures by key: rates in percent (one decimal), seconds to one decimal."""
    out: dict[str, Any] = {}
    for key, (value, _, _) in values.items():
        if isinstance(value, float) and key.endswith(("rate", "level", "acceptance", "reply")):
            out[key] = round(value * 100, 1)
        elif isinstance(value, float):
            out[key] = round(value, 1)
        else:
            out[key] = value
    return out


def table_json(table: Table) -> dict[str, Any]:
    """A table with its columns and raw rows."""
    return {
        "title": table.title,
        "columns": [{"key": c.key, "label": c.label, "unit": c.unit.value} for c in table.columns],
        "rows": [list(row) for row in table.rows],
    }


@require_role(*VIEWERS)
async def export_table(request: web.Request) -> web.StreamResponse:
    """One table (or, as XLSX, all of them) as a file for Excel."""
    name, ext = request.match_info["table"], request.match_info["ext"]
    if name not in TABLES and not (name == "all" and ext == "xlsx"):
        raise web.HTTPNotFound(text=f"没有名为 {name} 的统计表")
    period, grain = asked_period(request)
    view = await view_of(request, period, grain)
    stem = f"stats-{name}-{period.first}-{period.last}"
    if ext == "csv":
        return download(exports.csv_bytes(view.tables[name]), "text/csv", f"{stem}.csv")
    chosen = list(view.tables.values()) if name == "all" else [view.tables[name]]
    data = await asyncio.to_thread(exports.xlsx_bytes, chosen, period.label())
    return download(data, XLSX, f"{stem}.xlsx")


def download(data: bytes, content_type: str, filename: str) -> web.Response:
    """A file the browser saves."""
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    charset = "utf-8" if content_type.startswith("text/") else None
    return web.Response(body=data, content_type=content_type, charset=charset, headers=headers)


@require_role(*VIEWERS)
async def monthly_report(request: web.Request) -> web.StreamResponse:
    """The month's report (月报) as PDF."""
    app = request.config_dict
    zone = app[policy_key].timezone
    now = app[clock_key]()
    raw = request.query.get("month")
    try:
        first = parse_month(raw) if raw else now.astimezone(zone).date().replace(day=1)
    except ValidationError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    view = await view_of(request, period_of(Kind.MONTH, first), Grain.DAY)
    author = f"12345热线办（{logged_in(request).user.display_name}）"
    pdf = await asyncio.to_thread(
        monthly.monthly_report, view.stats, view.labels, made_at=now.astimezone(zone), author=author
    )
    return download(pdf, "application/pdf", f"12345-monthly-{first:%Y-%m}.pdf")
