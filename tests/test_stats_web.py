"""The statistics pages, JSON and exports through the real app factory, on SQLite and
PostgreSQL: the figures the office sees equal those worked out from the rows
(tests/test_stats_queries.expect), the files are Excel's, bad periods are refused in Chinese,
and only the office and the duty leaders get in."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from openpyxl import load_workbook  # type: ignore[import-untyped]

from ivr.db import users
from ivr.db.models import Role
from ivr.stats.periods import Kind, period_of
from ivr.stats.tables import TABLES
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.state import ConsolePolicy
from tests.test_stats_queries import Sessions, expect, generated, world_of
from tests.test_web_console import FakeClock, add_user, login

pytest_plugins = ["tests.db_fixtures"]

Client = TestClient[web.Request, web.Application]
NOON = datetime(2024, 5, 6, 4, tzinfo=UTC)  # Monday after the generated days, Beijing noon
WEEK = "period=week&date=2024-05-01"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: these tests are about the statistics."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
async def office(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], own_sessionmaker: Sessions
) -> Client:
    """A logged-in office user's client of the console, over the generated traffic."""
    await generated(own_sessionmaker)
    app = make_app(lambda: {}, db=own_sessionmaker, policy=ConsolePolicy(), clock=FakeClock(NOON))
    client = await aiohttp_client(app)
    await login(client, await add_user(own_sessionmaker, Role.OFFICE, display_name="王主任"))
    return client


def percent(part: int, whole: int) -> float | None:
    """A rate as the JSON gives it."""
    return round(part / whole * 100, 1) if whole else None


async def test_the_json_figures_equal_the_rows(office: Client, own_sessionmaker: Sessions) -> None:
    world = await world_of(own_sessionmaker)
    response = await office.get(f"/api/stats?{WEEK}")
    assert response.status == 200
    body = await response.json()
    wanted = expect(world, period_of(Kind.WEEK, date(2024, 5, 1)))
    calls, cases = wanted["calls"], body["cases"]
    assert body["period"] | {"label": ""} == {
        "kind": "week",
        "first": "2024-04-29",
        "last": "2024-05-05",
        "days": 7,
        "label": "",
    }
    assert {
        k: body["calls"][k] for k in ("offered", "answered", "answered_within", "abandoned")
    } == {k: calls[k] for k in ("offered", "answered", "answered_within", "abandoned")}
    figures = body["figures"]
    assert figures["answer_rate"] == percent(calls["answered"], calls["offered"])
    assert figures["service_level"] == percent(calls["answered_within"], calls["offered"])
    assert figures["average_wait"] == round(calls["wait_total"] / calls["answered"], 1)
    departments = wanted["departments"].values()
    due, closed = (sum(d[k] for d in departments) for k in ("due", "closed"))
    satisfied, surveyed = (sum(d[k] for d in departments) for k in ("satisfied", "surveyed"))
    assert (cases["received"], cases["due"], cases["closed"]) == (wanted["received"], due, closed)
    assert figures["closure_rate"] == percent(closed, due)
    assert figures["satisfaction_rate"] == percent(satisfied, surveyed)
    assert body["leader"]["calls"]["offered"] == wanted["leader_calls"]["offered"] > 0
    assert body["leader"]["cases"]["received"] == wanted["leader_cases"]["received"]
    tables = body["tables"]
    assert set(tables) == set(TABLES)
    assert len(tables["series"]["rows"]) == 7
    assert {row[1] for row in tables["departments"]["rows"]} == set(wanted["departments"])
    assert sum(row[2] for row in tables["agents"]["rows"]) == calls["answered"]


async def test_the_page_draws_the_figures_without_script(
    office: Client, own_sessionmaker: Sessions
) -> None:
    world = await world_of(own_sessionmaker)
    wanted = expect(world, period_of(Kind.MONTH, date(2024, 5, 1)))
    response = await office.get("/stats?period=month&date=2024-05-01")
    assert response.status == 200
    html = await response.text()
    assert "<script" not in html and " style=" not in html  # the CSP allows neither
    offered = re.search(r'data-figure="offered"><span>[^<]*</span><strong>(\d+)</strong>', html)
    assert offered is not None and int(offered.group(1)) == wanted["calls"]["offered"]
    rate = wanted["calls"]["answered"] / wanted["calls"]["offered"]
    assert f"<strong>{rate * 100:.1f}%</strong>" in html
    assert html.count('class="bar offered"') == 31 and html.count('class="bar answered"') == 31
    assert '<polyline class="rate"' in html and 'class="target"' in html
    assert html.count('<svg class="rate-bar"') > 0  # the league table's rate bars
    assert 'id="stats-leader"' in html and "领导接听日" in html
    assert 'href="/stats/report.pdf?month=2024-05"' in html
    assert 'href="/stats?period=month&amp;date=2024-04-01"' in html  # 上一期
    for table in TABLES:
        query = "period=month&amp;date=2024-05-01"
        assert f'href="/stats/export/{table}.csv?{query}"' in html, table
        assert f'href="/stats/export/{table}.xlsx?{query}"' in html, table


async def test_an_empty_period_shows_dashes(office: Client) -> None:
    html = await (await office.get("/stats?period=month&month=2031-01")).text()
    tile = re.search(r'data-figure="answer_rate"><span>[^<]*</span><strong>([^<]*)</strong>', html)
    assert tile is not None and tile.group(1) == "—"
    body = await (await office.get("/api/stats?period=month&month=2031-01")).json()
    assert body["figures"]["closure_rate"] is None and body["figures"]["offered"] == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=fortnight", "统计周期"),
        ("period=day&date=2024-02-30", "不是有效日期"),
        ("period=month&month=2024-13", "月份"),
        ("period=year&year=1999", "超出可统计的范围"),
        ("period=range&from=2024-05-02&to=2024-05-01", "早于开始日期"),
        ("period=range&from=2023-01-01&to=2024-05-01", "最长 366 天"),
        ("period=month&date=2024-05-01&by=hour", "分组方式"),
    ],
)
async def test_a_bad_period_is_a_400_in_chinese(office: Client, query: str, message: str) -> None:
    api = await office.get(f"/api/stats?{query}")
    assert api.status == 400 and message in (await api.json())["error"]
    page = await office.get(f"/stats?{query}")
    assert page.status == 400 and message in await page.text()
    export = await office.get(f"/stats/export/summary.csv?{query}")
    assert export.status == 400


async def test_bad_report_months_and_tables_are_refused(office: Client) -> None:
    assert (await office.get("/stats/report.pdf?month=2024-13")).status == 400
    assert (await office.get("/stats/export/nothing.csv")).status == 404
    assert (await office.get("/stats/export/all.csv")).status == 404  # all is a workbook only
    assert (await office.get("/stats/export/summary.pdf")).status == 404


async def test_exports_are_the_page_tables_for_excel(
    office: Client, own_sessionmaker: Sessions
) -> None:
    world = await world_of(own_sessionmaker)
    wanted = expect(world, period_of(Kind.WEEK, date(2024, 5, 1)))
    response = await office.get(f"/stats/export/departments.csv?{WEEK}")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="stats-departments-2024-04-29-2024-05-05.csv"'
    )
    data = await response.read()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["名次", "承办单位", "交办"]
    assert {row[1] for row in rows[1:]} == set(wanted["departments"])
    book = await office.get(f"/stats/export/all.xlsx?{WEEK}")
    workbook = load_workbook(io.BytesIO(await book.read()))
    assert len(workbook.sheetnames) == len(TABLES)
    agents = workbook["坐席接听情况"]
    answered = sum(row[2].value for row in agents.iter_rows(min_row=3))
    assert answered == wanted["calls"]["answered"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.DEPARTMENT])
async def test_only_the_office_and_leaders_see_statistics(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    own_sessionmaker: Sessions,
    role: Role,
) -> None:
    app = make_app(lambda: {}, db=own_sessionmaker, policy=ConsolePolicy(), clock=FakeClock(NOON))
    anonymous = await aiohttp_client(app)
    assert (await anonymous.get("/api/stats")).status == 401
    assert (await anonymous.get("/stats", allow_redirects=False)).status in (302, 303)
    await login(anonymous, await add_user(own_sessionmaker, role))
    for path in ("/stats", "/api/stats", "/stats/export/summary.csv", "/stats/report.pdf"):
        assert (await anonymous.get(path)).status == 403, path
    routes: dict[str, Any] = {
        route.resource.canonical: access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None and "stats" in route.resource.canonical
    }
    assert len(routes) == 4 and all(
        access == {Role.OFFICE, Role.LEADER} for access in routes.values()
    )
