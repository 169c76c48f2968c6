"""The knowledge base's API and page through the real app factory, on SQLite and PostgreSQL.

The office writes, edits, retires and restores articles; a department edits only its own;
agents and leaders search and read the articles in force. Every bad or forged request gets a
4xx with a Chinese message and writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from unittest.mock import MagicMock

import pytest
from aiohttp import web
from sqlalchemy import select

from ivr.db.insight_models import KbArticle
from ivr.db.models import Role
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.state import ConsolePolicy
from tests.test_duty_api import Console
from tests.test_kb_search import ARTICLES, HEATING, PENSION, PHONES
from tests.test_web_console import (
    Client,
    FakeClock,
    Sessions,
    add_user,
    cheap_hashing,
    clock,
    csrf_of,
    login,
)

__all__ = ["cheap_hashing", "clock"]  # fixtures shared with test_web_console

ConsoleFactory = Callable[[Role], Awaitable[Console]]
OFFICE, DEPARTMENT, AGENT, LEADER = Role.OFFICE, Role.DEPARTMENT, Role.AGENT, Role.LEADER
EVERYONE = frozenset(Role)
CALL_TAKERS = frozenset({AGENT, LEADER, OFFICE})


@pytest.fixture
def console(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    own_sessionmaker: Sessions,
    clock: FakeClock,
) -> ConsoleFactory:
    """Logs a new user of a role into a fresh client of the real app (a database of its own)."""

    async def build(role: Role) -> Console:
        app = make_app(lambda: {}, db=own_sessionmaker, policy=ConsolePolicy(), clock=clock)
        client = await aiohttp_client(app)
        assert (await login(client, await add_user(own_sessionmaker, role))).status == 303
        return Console(client, csrf_of(await (await client.get("/")).text()))

    return build


@pytest.fixture
async def office(console: ConsoleFactory) -> Console:
    """The hotline office, logged in."""
    return await console(OFFICE)


async def written(sm: Sessions) -> list[tuple[int, str, int]]:
    """Every article's id, title and version: what a refused request must leave alone."""
    async with sm() as session:
        query = select(KbArticle.id, KbArticle.title, KbArticle.version).order_by(KbArticle.id)
        return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def publish(office: Console, raw: dict[str, Any]) -> dict[str, Any]:
    """An article written through the API."""
    article: dict[str, Any] = (await office.ok("POST", "/api/kb/articles", 201, json=raw))[
        "article"
    ]
    return article


def test_every_kb_route_says_who_may_use_it() -> None:
    app = make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy())
    routes = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None
        and ("kb" in route.resource.canonical or route.resource.canonical.endswith("/answer"))
        and route.method != "HEAD"
    }
    article = "/api/kb/articles/{article_id}"
    assert routes == {
        ("GET", "/kb"): EVERYONE,
        ("GET", "/api/kb/search"): EVERYONE,
        ("GET", "/api/kb/articles"): EVERYONE,
        ("GET", article): EVERYONE,
        ("POST", "/api/kb/articles"): frozenset({OFFICE}),
        ("PATCH", article): frozenset({OFFICE, DEPARTMENT}),
        ("POST", article + "/retire"): frozenset({OFFICE}),
        ("POST", article + "/restore"): frozenset({OFFICE}),
        ("GET", "/api/cases/{case_id}/kb-suggestions"): CALL_TAKERS,
        ("POST", "/api/cases/{case_id}/answer"): CALL_TAKERS,
    }


async def test_the_office_writes_and_keeps_articles_agents_find_them(
    console: ConsoleFactory, office: Console
) -> None:
    for raw in ARTICLES:
        await publish(office, raw)
    agent = await console(AGENT)
    found = await agent.ok("GET", "/api/kb/search", params={"q": "公积金怎么提取"})
    assert [hit["title"] for hit in found["results"]] == [PENSION, PHONES]
    best = found["results"][0]
    assert best["words"] == ["公积金", "提取"] and best["kind_label"] == "政策解答"
    assert "提取" in best["excerpt"]
    pension = (await agent.ok("GET", f"/api/kb/articles/{best['id']}"))["article"]
    assert (
        pension["in_force"]
        and pension["version"] == 1
        and pension["owner"] == "市住房公积金管理中心"
    )

    edited = await office.ok(
        "PATCH",
        f"/api/kb/articles/{pension['id']}",
        json={
            "version": 1,
            "valid_until": "2300-12-31",
            "body": pension["body"] + "（2031年修订）",
        },
    )
    assert edited["article"]["version"] == 2 and edited["article"]["valid_until"] == "2300-12-31"
    assert edited["article"]["updated_by"].startswith("office-")
    retired = await office.ok(
        "POST", f"/api/kb/articles/{pension['id']}/retire", json={"version": 2}
    )
    assert retired["article"]["active"] is False and retired["article"]["in_force"] is False

    again = await agent.ok("GET", "/api/kb/search", params={"q": "公积金怎么提取"})
    assert [hit["title"] for hit in again["results"]] == [PHONES]
    assert (await agent.call("GET", f"/api/kb/articles/{pension['id']}")).status == 404
    listed = await agent.ok("GET", "/api/kb/articles")
    assert PENSION not in [a["title"] for a in listed["articles"]]
    everything = await office.ok("GET", "/api/kb/articles")
    assert len(everything["articles"]) == len(ARTICLES)  # retired and expired ones too

    await office.ok("POST", f"/api/kb/articles/{pension['id']}/restore", json={"version": 3})
    back = await agent.ok("GET", "/api/kb/search", params={"q": "提取"})
    assert [hit["title"] for hit in back["results"]] == [PENSION]


BAD_ARTICLES = [
    (
        {"body": "正文", "kind": "policy", "category": "housing", "owner": "市住建局"},
        "请填写：标题",
    ),
    ({**ARTICLES[0], "title": "题" * 201}, "标题不能超过 200 个字"),
    ({**ARTICLES[0], "body": ""}, "正文不能为空"),
    ({**ARTICLES[0], "kind": "rumour"}, "文章类型应为"),
    ({**ARTICLES[0], "category": "../../etc"}, "没有这个分类"),
    ({**ARTICLES[0], "valid_from": "2031-13-01"}, "有效期起应写成 YYYY-MM-DD"),
    ({**ARTICLES[0], "valid_from": "2031-03-05", "valid_until": "2031-03-01"}, "不能早于"),
    ({**ARTICLES[0], "id": 1}, "文章没有这些字段：id"),
    ({**ARTICLES[0], "version": 7, "active": False}, "文章没有这些字段：active、version"),
]


@pytest.mark.parametrize(("raw", "message"), BAD_ARTICLES)
async def test_a_bad_article_is_refused_in_chinese_and_nothing_is_written(
    office: Console, own_sessionmaker: Sessions, raw: dict[str, Any], message: str
) -> None:
    assert message in await office.refused("POST", "/api/kb/articles", 400, json=raw)
    assert await written(own_sessionmaker) == []


async def test_forged_and_oversized_requests_are_refused(
    office: Console, own_sessionmaker: Sessions
) -> None:
    heating = await publish(office, ARTICLES[3])
    path = f"/api/kb/articles/{heating['id']}"
    before = await written(own_sessionmaker)
    huge = {**ARTICLES[0], "body": "长" * 70_000}
    refusals = [
        ("POST", "/api/kb/articles", 413, {"data": b'{"title": "' + b"x" * 70_000 + b'"}'}),
        ("POST", "/api/kb/articles", 413, {"json": huge}),
        ("POST", "/api/kb/articles", 400, {"data": b"[1, 2]"}),
        ("POST", "/api/kb/articles", 400, {"data": b'{"title": '}),
        ("PATCH", path, 400, {"json": {"title": "新标题"}}),  # no version
        ("PATCH", path, 400, {"json": {"version": "1", "title": "新标题"}}),
        ("PATCH", path, 400, {"json": {"version": 1, "kind": None}}),
        ("PATCH", path, 409, {"json": {"version": 0, "title": "新标题"}}),
        ("PATCH", "/api/kb/articles/999999", 404, {"json": {"version": 1}}),
        ("PATCH", "/api/kb/articles/abc", 404, {"json": {"version": 1}}),
        ("POST", path + "/retire", 409, {"json": {"version": 5}}),
        ("POST", path + "/retire", 400, {"json": {}}),
    ]
    for method, target, status, body in refusals:
        message = await office.refused(method, target, status, **body)
        assert any("\u4e00" <= char <= "\u9fff" for char in message), (target, message)
    assert await written(own_sessionmaker) == before
    # without the session's CSRF token nothing is done either
    response = await office.client.post(path + "/retire", json={"version": 1})
    assert response.status == 403 and await written(own_sessionmaker) == before


async def test_search_words_are_checked(console: ConsoleFactory) -> None:
    agent = await console(AGENT)
    too_long = await agent.refused("GET", "/api/kb/search", 400, params={"q": "问" * 201})
    assert "不能超过 200 个字" in too_long
    await agent.refused("GET", "/api/kb/search", 400, params={"q": "公积金", "limit": "all"})
    assert (await agent.ok("GET", "/api/kb/search", params={"q": "  "}))["results"] == []


async def test_a_department_edits_its_own_articles_only(
    console: ConsoleFactory, office: Console, own_sessionmaker: Sessions
) -> None:
    ours = await publish(office, {**ARTICLES[3], "owner": "城管局", "title": "占道经营投诉口径"})
    theirs = await publish(office, ARTICLES[3])
    department = await console(DEPARTMENT)  # of 城管局
    mine = await department.ok("GET", "/api/kb/articles")
    assert [a["id"] for a in mine["articles"]] == [ours["id"]]
    changed = await department.ok(
        "PATCH", f"/api/kb/articles/{ours['id']}", json={"version": 1, "title": "占道经营答复口径"}
    )
    assert changed["article"]["title"] == "占道经营答复口径"
    before = await written(own_sessionmaker)
    for article, body in [
        (theirs, {"version": 1, "title": "改别人的"}),
        (ours, {"version": 2, "owner": "市热力公司"}),
    ]:
        message = await department.refused(
            "PATCH", f"/api/kb/articles/{article['id']}", 403, json=body
        )
        assert "本单位" in message
    for method, path in [
        ("POST", "/api/kb/articles"),
        ("POST", f"/api/kb/articles/{ours['id']}/retire"),
    ]:
        assert (await department.call(method, path, json=ARTICLES[0])).status == 403
    assert await written(own_sessionmaker) == before


async def test_agents_and_leaders_read_but_never_write(
    console: ConsoleFactory, office: Console, own_sessionmaker: Sessions
) -> None:
    heating = await publish(office, ARTICLES[3])
    for role in (AGENT, LEADER):
        user = await console(role)
        assert (await user.ok("GET", f"/api/kb/articles/{heating['id']}"))["article"][
            "title"
        ] == HEATING
        for method, path in [
            ("POST", "/api/kb/articles"),
            ("PATCH", f"/api/kb/articles/{heating['id']}"),
            ("POST", f"/api/kb/articles/{heating['id']}/retire"),
        ]:
            response = await user.call(method, path, json={**ARTICLES[0], "version": 1})
            assert response.status == 403 and "仅限" in (await response.json())["error"]
    assert [row[1] for row in await written(own_sessionmaker)] == [HEATING]
    anonymous = office.client
    anonymous.session.cookie_jar.clear()
    assert (await anonymous.get("/api/kb/search?q=供暖")).status == 401
    assert (await anonymous.get("/kb", allow_redirects=False)).headers["Location"] == "/login"


async def test_the_kb_page_and_the_links_to_it(console: ConsoleFactory, office: Console) -> None:
    page = await (await office.client.get("/kb")).text()
    assert 'id="kb-editor"' in page and 'id="kb-new"' in page and 'data-role="office"' in page
    assert 'href="/kb">知识库</a>' in await (await office.client.get("/office")).text()
    department = await (await (await console(DEPARTMENT)).client.get("/kb")).text()
    assert 'id="kb-editor"' in department and 'id="kb-new"' not in department
    assert 'value="城管局"' in department and "readonly" in department
    agent = await console(AGENT)
    reader = await (await agent.client.get("/kb")).text()
    assert 'id="kb-search"' in reader and 'id="kb-editor"' not in reader
    desk = await (await agent.client.get("/agent")).text()
    assert 'id="kb-panel"' in desk and 'href="/kb"' in desk and "kb_console.js" in desk


async def test_validity_is_judged_by_the_day_in_shanghai(
    console: ConsoleFactory, clock: FakeClock
) -> None:
    last_day = clock.now.date()
    clock.now = clock.now.replace(hour=16, minute=30)  # 00:30 the next day in Shanghai
    heating = await publish(
        await console(OFFICE), {**ARTICLES[3], "valid_until": last_day.isoformat()}
    )
    assert heating["in_force"] is False
    agent = await console(AGENT)
    assert (await agent.ok("GET", "/api/kb/search", params={"q": "供暖费"}))["results"] == []
    clock.now = clock.now.replace(hour=15, minute=59)  # 23:59 in Shanghai: its last minute
    found = await agent.ok("GET", "/api/kb/search", params={"q": "供暖费"})
    assert [hit["title"] for hit in found["results"]] == [HEATING]
