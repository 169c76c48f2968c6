"""The monthly report (月报) as the office downloads it: a PDF whose text carries the month's
figures (worked out from the rows, tests/test_stats_queries.expect) and whose pages, turned
into images, show the charts drawn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import numpy as np
import pypdfium2 as pdfium
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from PIL import Image

from ivr.db.models import Role
from ivr.stats.periods import Kind, period_of
from ivr.web.app import make_app
from ivr.web.state import ConsolePolicy
from tests.test_stats_queries import Sessions, expect, generated, world_of
from tests.test_stats_web import NOON, cheap_hashing
from tests.test_web_console import FakeClock, add_user, login

pytest_plugins = ["tests.db_fixtures"]

__all__ = ["cheap_hashing"]  # the fixture shared with tests/test_stats_web.py
Client = TestClient[web.Request, web.Application]
DARK_BLUE, GREEN, RED = (0x1F, 0x5F, 0x99), (0x2E, 0x8B, 0x57), (0xC0, 0x39, 0x2B)


def pixels_like(image: Image.Image, colour: tuple[int, int, int], slack: int = 12) -> int:
    """How many pixels are (nearly) this colour."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    near = np.abs(rgb - np.array(colour, dtype=np.int16)) <= slack
    return int(near.all(axis=2).sum())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_monthly_report_prints_the_figures_and_draws_the_charts(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], own_sessionmaker: Sessions
) -> None:
    await generated(own_sessionmaker)
    app = make_app(lambda: {}, db=own_sessionmaker, policy=ConsolePolicy(), clock=FakeClock(NOON))
    client = await aiohttp_client(app)
    await login(client, await add_user(own_sessionmaker, Role.OFFICE, display_name="王主任"))
    response = await client.get("/stats/report.pdf?month=2024-05")
    assert response.status == 200 and response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"].endswith('"12345-monthly-2024-05.pdf"')
    document = pdfium.PdfDocument(await response.read())
    try:
        await look_at(document, own_sessionmaker)
    finally:
        document.close()


async def look_at(document: pdfium.PdfDocument, sm: Sessions) -> None:
    """Check the report's text against the rows, and its charts' pixels."""
    pages = [document[n].get_textpage().get_text_range() for n in range(len(document))]
    text = "".join(pages)

    wanted = expect(await world_of(sm), period_of(Kind.MONTH, date(2024, 5, 1)))
    calls, leader = wanted["calls"], wanted["leader_calls"]
    for line in (
        "12345政务服务便民热线2024年05月月报",
        "12345热线办（王主任）",
        f"本月共有 {calls['offered']} 通来电进入人工队列，接通 {calls['answered']} 通",
        f"接通率 {calls['answered'] / calls['offered'] * 100:.1f}%",
        f"受理诉求 {wanted['received']} 件",
        f"领导接听日共有 {leader['offered']} 通来电",
        "四、承办单位办理情况",
        "附：指标口径",
    ):
        assert line in text.replace("\r\n", "").replace("\n", ""), line
    for department in wanted["departments"]:
        assert department in text

    def page_with(caption: str) -> Image.Image:
        number = next(n for n, page in enumerate(pages) if caption in page)
        return document[number].render(scale=2).to_pil()

    calls_chart = page_with("图1 每日人工队列来电与接通量")
    assert pixels_like(calls_chart, DARK_BLUE) > 200  # the answered bars
    rates = page_with("图2 每日接通率")
    assert pixels_like(rates, GREEN) > 60 and pixels_like(rates, RED, slack=40) > 60  # 95 % line
    categories = page_with("图3 各类诉求受理量")
    assert pixels_like(categories, DARK_BLUE) > 500
    departments = page_with("图4 各承办单位办结率与满意率")
    assert pixels_like(departments, GREEN) > 200
