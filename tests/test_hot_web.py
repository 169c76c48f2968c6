"""The alerts console through the real app factory, on SQLite and PostgreSQL: who may see and
move alerts, CSRF, the sensitive-word list refusing bad words with nothing written, the
wallboard's alert tiles, whistleblowers masked for a leader, and the 专报 as a page and a
PDF that renders and reads back its topic.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import MagicMock

import pypdfium2 as pdfium
import pytest
from aiohttp import web
from sqlalchemy import func, select

from ivr.db import hot_topics, users
from ivr.db.insight_models import AlertKind, HotTopicAlert, SensitiveWord
from ivr.db.models import Role
from ivr.hotspots.model import Finding
from ivr.sim.case_stream import ZONE, CaseStream
from ivr.sim.case_texts import SALT
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.state import ConsolePolicy
from tests.test_duty_api import Console
from tests.test_hot_job import Sessions, store
from tests.test_web_console import PASSWORD, Client, FakeClock, csrf_of, login
from tests.test_workflow_api import cheap_hashing

__all__ = ["cheap_hashing"]  # the fixture shared with test_workflow_api
pytest_plugins = ["tests.db_fixtures"]

NOON = datetime(2031, 6, 2, 12, tzinfo=ZONE)
POLICY = ConsolePolicy(idle=timedelta(days=2))
READ = frozenset({Role.OFFICE, Role.LEADER})
OFFICE = frozenset({Role.OFFICE})


@dataclasses.dataclass
class Hotline:
    """An app on the test's own database, and how to log people into it."""

    sm: Sessions
    login: Callable[[Role], Awaitable[Console]]
    anonymous: Client


@pytest.fixture
async def hotline(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], own_sessionmaker: Sessions
) -> Hotline:
    """The console on a database holding only what the test writes."""
    clock = FakeClock(NOON)

    def app() -> web.Application:
        return make_app(lambda: {"ok": True}, db=own_sessionmaker, policy=POLICY, clock=clock)

    async def log_in(role: Role) -> Console:
        client = await aiohttp_client(app())
        name = f"{role.value}-{uuid.uuid4().hex[:8]}"
        department = "市城管执法局" if role is Role.DEPARTMENT else None
        await users.create_user(own_sessionmaker, name, PASSWORD, role.value, department=department)
        assert (await login(client, name)).status == 303
        return Console(client, csrf_of(await (await client.get("/")).text()))

    return Hotline(own_sessionmaker, log_in, await aiohttp_client(app()))


async def salt_alert(
    sm: Sessions, *, reporter: bool = False, days_ago: int = 0
) -> tuple[int, list[int]]:
    """A salt-rush alert over 30 stored cases (the first one a whistleblower's if asked)."""
    end = NOON - timedelta(days=days_ago)
    rush = CaseStream(seed=9).inject(SALT, end - timedelta(hours=2), 30, timedelta(hours=2))
    ids = await store(sm, rush[1:])
    first = dataclasses.replace(rush[0], transcript="我叫赵举报，电话13912345678，超市食盐被抢光")
    ids |= await store(sm, [first], whistleblower=reporter, caller_name="赵举报")
    cases = [ids[c.id] for c in rush]
    details = {
        "words": ["食盐", "买不到", "抢购"],
        "callers": 30,
        "usual": 0.4,
        "ratio": 60.0,
        "window_minutes": 120,
        "places": [["人民路", 3]],
    }
    finding = Finding(
        kind=AlertKind.SURGE,
        key="食盐、买不到、抢购",
        title="食盐、买不到、抢购（2小时内30位来电人，常态约0.4）",
        window_start=rush[0].created_at,
        window_end=end,
        case_ids=tuple(cases),
        callers=30,
        baseline=0.4,
        details=details,
        continues_after=rush[0].created_at - timedelta(hours=2),
    )
    assert await hot_topics.save_findings(sm, [finding], now=NOON) == 1
    async with sm() as session:
        alert_id = await session.scalar(select(HotTopicAlert.id).order_by(HotTopicAlert.id.desc()))
    assert alert_id is not None
    return alert_id, cases


def test_every_alert_route_says_who_may_use_it() -> None:
    app = make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy())
    access = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None
        and "alerts" in route.resource.canonical
        and route.method != "HEAD"
    }
    assert len(access) == 11 and None not in access.values()
    assert access["GET", "/alerts"] == access["GET", "/api/alerts/{alert_id}"] == READ
    assert access["GET", "/alerts/{alert_id}/report.pdf"] == READ
    assert access["POST", "/api/alerts/{alert_id}/acknowledge"] == OFFICE
    assert access["POST", "/api/alerts/words"] == access["GET", "/alerts/words"] == OFFICE


async def test_only_the_office_moves_alerts_and_only_with_its_token(hotline: Hotline) -> None:
    alert_id, _ = await salt_alert(hotline.sm)
    ack = f"/api/alerts/{alert_id}/acknowledge"
    for role in (Role.AGENT, Role.DEPARTMENT):
        who = await hotline.login(role)
        await who.refused("GET", "/api/alerts", 403)
        assert (await who.client.get("/alerts")).status == 403
        await who.refused("POST", ack, 403)
    leader = await hotline.login(Role.LEADER)
    await leader.refused("POST", ack, 403)
    assert (await hotline.anonymous.get("/api/alerts")).status == 401
    office = await hotline.login(Role.OFFICE)
    assert (await office.client.post(ack)).status == 403, "no CSRF token"
    still = await office.ok("GET", f"/api/alerts/{alert_id}")
    assert still["alert"]["state"] == "open"
    moved = await office.ok("POST", ack)
    assert moved["alert"]["state"] == "acknowledged" and moved["alert"]["acknowledged_by"]
    assert "已确认" in await office.refused("POST", ack, 409)
    await office.ok("POST", f"/api/alerts/{alert_id}/close")
    assert "已关闭" in await office.refused("POST", f"/api/alerts/{alert_id}/close", 409)
    await office.refused("POST", f"/api/alerts/{2**31 - 1}/close", 404)
    assert (await office.client.get("/api/alerts/abc")).status == 404


async def test_the_office_sees_open_alerts_first_with_their_cases(hotline: Hotline) -> None:
    first, _ = await salt_alert(hotline.sm, days_ago=1)
    second, cases = await salt_alert(hotline.sm, reporter=True)
    office = await hotline.login(Role.OFFICE)
    await office.ok("POST", f"/api/alerts/{first}/close")
    listed = await office.ok("GET", "/api/alerts")
    assert [a["id"] for a in listed["alerts"]] == [second, first]
    assert [a["id"] for a in (await office.ok("GET", "/api/alerts?state=open"))["alerts"]] == [
        second
    ]
    await office.refused("GET", "/api/alerts?state=bogus", 400)
    assert (await office.ok("GET", "/api/alerts?kind=repeat"))["alerts"] == []
    assert len((await office.ok("GET", "/api/alerts?kind=surge"))["alerts"]) == 2
    assert "kind" in await office.refused("GET", "/api/alerts?kind=bogus", 400)
    page = await (await office.client.get("/alerts")).text()
    assert page.index(f'id="alert-{second}"') < page.index(f'id="alert-{first}"')
    assert f'href="/workflow/cases/{cases[0]}"' in page
    assert f'data-url="/api/alerts/{second}/acknowledge"' in page
    assert "***" not in page, "the office may see who reported"
    shown = await office.ok("GET", f"/api/alerts/{second}")
    assert shown["cases"][0]["caller_name"] == "赵举报"
    assert 'src="/static/workflow.js"' in page and 'name="csrf-token"' in page


async def test_a_leader_reads_alerts_with_the_reporter_masked(hotline: Hotline) -> None:
    alert_id, cases = await salt_alert(hotline.sm, reporter=True)
    leader = await hotline.login(Role.LEADER)
    shown = await leader.ok("GET", f"/api/alerts/{alert_id}")
    reporter = next(c for c in shown["cases"] if c["id"] == cases[0])
    assert reporter["identity_masked"] and reporter["caller_name"] == "***"
    assert "13912345678" not in str(shown) and "赵举报" not in str(shown)
    page = await (await leader.client.get("/alerts")).text()
    assert "赵举报" not in page and "/workflow/cases/" not in page and "acknowledge" not in page
    report = await (await leader.client.get(f"/alerts/{alert_id}/report")).text()
    assert "赵举报" not in report and "13912345678" not in report


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"word": ""}, 400, "请填写"),
        ({"word": "   "}, 400, "请填写"),
        ({}, 400, "请填写"),
        ({"word": 12}, 400, "请填写"),
        ({"word": "上"}, 400, "至少"),
        ({"word": "集体" * 11}, 400, "不能超过"),
        ({"word": "集体 上访"}, 400, "空格"),
        ({"word": "!!"}, 400, "汉字"),
    ],
)
async def test_bad_sensitive_words_are_refused_with_nothing_written(
    hotline: Hotline, body: dict[str, Any], status: int, says: str
) -> None:
    office = await hotline.login(Role.OFFICE)
    assert says in await office.refused("POST", "/api/alerts/words", status, json=body)
    async with hotline.sm() as session:
        assert await session.scalar(select(func.count()).select_from(SensitiveWord)) == 0


async def test_the_office_keeps_its_sensitive_word_list(hotline: Hotline) -> None:
    office = await hotline.login(Role.OFFICE)
    added = await office.ok("POST", "/api/alerts/words", 201, json={"word": "集体上访"})
    assert added["word"]["word"] == "集体上访" and added["word"]["active"]
    assert "已在" in await office.refused(
        "POST", "/api/alerts/words", 409, json={"word": "集体上访"}
    )
    await office.refused("POST", "/api/alerts/words", 400, data="not json")
    token_less = await office.client.post("/api/alerts/words", json={"word": "跳楼"})
    assert token_less.status == 403
    word_id = added["word"]["id"]
    off = await office.ok("POST", f"/api/alerts/words/{word_id}/deactivate")
    assert off["word"]["active"] is False
    await office.refused("POST", f"/api/alerts/words/{2**31 - 1}/deactivate", 404)
    again = await office.ok("POST", "/api/alerts/words", 201, json={"word": "集体上访"})
    assert again["word"]["id"] == word_id and again["word"]["active"]
    words = (await office.ok("GET", "/api/alerts/words"))["words"]
    assert [w["word"] for w in words] == ["集体上访"]
    page = await (await office.client.get("/alerts/words")).text()
    assert 'id="word-add"' in page and f'id="word-off-{word_id}"' in page
    leader = await hotline.login(Role.LEADER)
    await leader.refused("POST", "/api/alerts/words", 403, json={"word": "跳楼"})
    assert (await leader.client.get("/alerts/words")).status == 403


async def test_the_wallboard_counts_open_alerts_and_names_the_newest(hotline: Hotline) -> None:
    await salt_alert(hotline.sm)
    leader = await hotline.login(Role.LEADER)
    board = await leader.ok("GET", "/api/wallboard")
    assert board["alerts"]["open"] == 1
    assert board["alerts"]["newest"][0]["title"].startswith("食盐")
    page = await (await leader.client.get("/wallboard")).text()
    assert 'data-figure="alerts_open"' in page and 'id="wb-alerts"' in page


async def test_the_special_report_renders_as_a_page_and_a_pdf(hotline: Hotline) -> None:
    alert_id, _ = await salt_alert(hotline.sm, reporter=True)
    office = await hotline.login(Role.OFFICE)
    page = await (await office.client.get(f"/alerts/{alert_id}/report")).text()
    for part in (
        "12345热线专报：食盐、买不到、抢购",
        "基本情况",
        "来电走势",
        "处理建议",
        "<progress",
    ):
        assert part in page
    assert "我叫赵举报" not in page, "a reporter is never quoted"
    response = await office.client.get(f"/alerts/{alert_id}/report.pdf")
    assert response.status == 200 and response.content_type == "application/pdf"
    pdf = await response.read()
    document = pdfium.PdfDocument(pdf)
    text = "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    for part in ("12345热线专报", "食盐", "常态", "市市场监管局", "建议由市市场监管局牵头"):
        assert part in text, part
    image = document[0].render(scale=1).to_pil().convert("L")
    darkest, _ = image.getextrema()
    assert isinstance(darkest, int) and darkest < 80, "drawn, not blank"
    document.close()
    await office.refused("GET", f"/api/alerts/{2**31 - 1}", 404)
    assert (await office.client.get(f"/alerts/{2**31 - 1}/report.pdf")).status == 404
