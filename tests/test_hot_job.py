"""The hot-topic job on SQLite and PostgreSQL: cases arrive in the database, the leased job
runs every few minutes on a moved clock, and alerts are raised once with their cases, by
one job or by two at once, and again by a job that starts afresh (a restart, a takeover).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import hot_topics, sensitive_words
from ivr.db.hot_topic_views import alert_cases
from ivr.db.insight_models import AlertKind, AlertState, HotTopicAlert
from ivr.db.models import Case
from ivr.hotspots import job as job_module
from ivr.hotspots.job import HotTopicJob
from ivr.hotspots.model import CaseDoc, Finding, HotspotPolicy
from ivr.sim.case_stream import ZONE, CaseStream, case_row, days
from ivr.sim.case_texts import SALT, issue

pytest_plugins = ["tests.db_fixtures"]

detect = job_module._detect

Sessions = async_sessionmaker[AsyncSession]
POLICY = HotspotPolicy(baseline_days=3, min_history_days=3)
FIRST = date(2031, 5, 5)
TEST_DAY = FIRST + timedelta(days=3)
NINE = datetime(TEST_DAY.year, TEST_DAY.month, TEST_DAY.day, 9, tzinfo=ZONE)
PER_DAY = 120


async def store(sm: Sessions, docs: Sequence[CaseDoc], **fields: Any) -> dict[int, int]:
    """Write the cases; the database id of each generated one."""
    ids = {}
    async with sm.begin() as session:
        for doc in docs:
            found = await session.execute(
                insert(Case).values(case_row(doc, **fields)).returning(Case.id)
            )
            ids[doc.id] = found.scalar_one()
    return ids


async def city(sm: Sessions) -> CaseStream:
    """Three ordinary days in the database and the morning of the fourth until 9:00."""
    stream = CaseStream(per_day=PER_DAY, seed=55)
    for day in days(FIRST, 4):
        await store(sm, [c for c in stream.day(day) if c.created_at <= NINE])
    return stream


def job(sm: Sessions, **kwargs: Any) -> HotTopicJob:
    """A job as one ivr process has it."""
    return HotTopicJob(sm, policy=POLICY, **kwargs)


async def alerts(sm: Sessions, kind: AlertKind | None = None) -> list[HotTopicAlert]:
    """Every alert stored (of a kind)."""
    query = select(HotTopicAlert).order_by(HotTopicAlert.id)
    if kind is not None:
        query = query.where(HotTopicAlert.kind == kind.value)
    async with sm() as session:
        return list(await session.scalars(query))


async def test_a_rush_arriving_in_the_database_is_raised_once_with_its_cases(
    own_sessionmaker: Sessions,
) -> None:
    sm = own_sessionmaker
    stream = await city(sm)
    rush = stream.inject(SALT, NINE, 40, timedelta(hours=1))
    first = job(sm)
    assert await first.run_once(NINE) == 0, "an ordinary morning"
    stored: dict[int, int] = {}
    for minutes in range(10, 70, 10):
        now = NINE + timedelta(minutes=minutes)
        stored |= await store(
            sm, [c for c in rush if now - timedelta(minutes=10) < c.created_at <= now]
        )
        await first.run_once(now)
    surges = await alerts(sm, AlertKind.SURGE)
    assert len(surges) == 1 and "食盐" in surges[0].title
    linked = {case.id for case in await alert_cases(sm, surges[0].id)}
    assert linked <= set(stored.values()) and len(linked) >= 0.9 * len(rush)
    assert surges[0].case_count == len(linked)
    assert surges[0].raised_at <= NINE + POLICY.window

    # a restarted process, and then two at once (a holder stalled past its lease)
    again = job(sm, lease_name="hot_topics_restarted")
    end = NINE + timedelta(minutes=70)
    assert await again.run_once(end) == 0
    racing = [job(sm, lease_name=f"hot_topics_{n}") for n in range(2)]
    assert await asyncio.gather(*(j.run_once(end) for j in racing)) == [0, 0]
    assert [a.id for a in await alerts(sm, AlertKind.SURGE)] == [surges[0].id]


async def test_two_fresh_jobs_racing_raise_each_alert_once(own_sessionmaker: Sessions) -> None:
    sm = own_sessionmaker
    stream = await city(sm)
    rush = stream.inject(SALT, NINE, 40, timedelta(minutes=50))
    await store(sm, rush)
    lights = stream.inject(
        issue("streetlight"), NINE, 3, timedelta(minutes=50), place="青年路", number=8
    )
    await store(sm, lights)
    now = NINE + timedelta(hours=1)
    racing = [job(sm, lease_name=f"hot_topics_{n}") for n in range(3)]
    raised = await asyncio.gather(*(j.run_once(now) for j in racing))
    kinds = sorted(a.kind for a in await alerts(sm))
    assert kinds == ["repeat", "surge"], kinds
    assert sum(raised) == 2


async def test_a_sensitive_word_is_raised_at_the_next_run_and_only_while_on_the_list(
    own_sessionmaker: Sessions,
) -> None:
    sm = own_sessionmaker
    stream = await city(sm)
    await sensitive_words.add_word(sm, "集体上访", actor="office-wang", at=NINE)
    word = await sensitive_words.add_word(sm, "跳楼", actor="office-wang", at=NINE)
    await sensitive_words.deactivate_word(sm, word.id, actor="office-wang")
    running = job(sm)
    await running.run_once(NINE)
    wages = stream.inject(issue("wages"), NINE + timedelta(minutes=1), 2, timedelta(minutes=2))
    said = [
        dataclasses.replace(
            wages[0], transcript=wages[0].transcript + "，再不发工资我们就集体 上访"
        ),
        dataclasses.replace(wages[1], transcript=wages[1].transcript + "，老板说要跳楼"),
    ]
    ids = await store(sm, said, whistleblower=True)
    assert await running.run_once(NINE + timedelta(minutes=5)) == 1
    [alert] = await alerts(sm, AlertKind.SENSITIVE)
    assert alert.key == "集体上访" and alert.title == "来电含“集体上访”"
    assert [c.id for c in await alert_cases(sm, alert.id)] == [ids[said[0].id]]
    assert await running.run_once(NINE + timedelta(minutes=6)) == 0


async def test_the_office_acknowledges_and_closes_once(own_sessionmaker: Sessions) -> None:
    sm = own_sessionmaker
    stream = await city(sm)
    await store(sm, stream.inject(SALT, NINE, 40, timedelta(minutes=50)))
    await job(sm).run_once(NINE + timedelta(hours=1))
    [alert] = await alerts(sm, AlertKind.SURGE)
    count, newest = await hot_topics.open_summary(sm)
    assert (count, [a.id for a in newest]) == (1, [alert.id])
    at = NINE + timedelta(hours=2)
    seen = await hot_topics.move_alert(sm, alert.id, AlertState.ACKNOWLEDGED, actor="wang", at=at)
    assert (seen.state, seen.acknowledged_by) == (AlertState.ACKNOWLEDGED, "wang")
    closed = await hot_topics.move_alert(sm, alert.id, AlertState.CLOSED, actor="li", at=at)
    assert closed.acknowledged_by == "wang", "who read it first stays on record"
    assert (await hot_topics.open_summary(sm))[0] == 0
    async with sm() as session:
        assert await session.scalar(select(func.count()).select_from(HotTopicAlert)) == 1


async def test_detection_runs_off_the_event_loop(
    own_sessionmaker: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = own_sessionmaker
    await city(sm)
    slow = 0.5

    def heavy(*args: Any) -> list[Finding]:
        time.sleep(slow)  # a large city's detection, standing in
        return detect(*args)

    monkeypatch.setattr(job_module, "_detect", heavy)
    gaps: list[float] = []
    running = asyncio.create_task(job(sm).run_once(NINE))
    last = time.perf_counter()
    while not running.done():
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    await running
    assert sum(gaps) >= slow and max(gaps) < slow / 2, max(gaps)
