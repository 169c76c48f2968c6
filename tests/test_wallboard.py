"""The wallboard's figures: the pure computation at its edges, the query on both databases
and the API with its roles.

The database test writes a generated day of calls through the same recorders the AMI
events use (ivr.db.calls), then checks the API against figures this file works out by
itself from the generated scenarios, never by calling the code under test.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest.mock import MagicMock
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.db import calls, users
from ivr.db.models import Role
from ivr.db.wallboard import STALE_AFTER, QueuedCall, compute_figures, wallboard_figures
from ivr.web import wallboard
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.presence import Telephony
from ivr.web.state import ConsolePolicy
from tests.test_presence_api import FakeAppQueue
from tests.test_web_console import Client, FakeClock, Sessions, add_user, login

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2024, 5, 1, 4, 0, tzinfo=UTC)  # noon in Beijing
QUEUE = "hotline-agents"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: these logins are about roles, not the hash."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


def wallboard_app(**kwargs: Any) -> web.Application:
    """The console from the real factory, with the wallboard routes until it adds them."""
    app = make_app(lambda: {}, **kwargs)
    if not any(r.canonical == "/api/wallboard" for r in app.router.resources()):
        wallboard.add_routes(app.router)
    return app


def call(joined: datetime, **facts: Any) -> QueuedCall:
    """A queue call; `wait` answers it that many seconds after joining."""
    wait = facts.pop("wait", None)
    if wait is not None:
        facts.setdefault("answered_at", joined + timedelta(seconds=wait))
    return QueuedCall(joined_at=joined, **facts)


# --- the pure computation ---------------------------------------------------------------


def test_no_calls_gives_no_rates_rather_than_zero_percent() -> None:
    figures = compute_figures([], NOW, SHANGHAI)
    assert (figures.waiting, figures.longest_wait, figures.stale) == (0, None, 0)
    for tally in (figures.today, figures.last_24h):
        assert (tally.offered, tally.answered, tally.abandoned) == (0, 0, 0)
        assert tally.service_level is tally.answer_rate is tally.average_wait is None


def test_exactly_fifteen_seconds_is_within_and_asterisks_hold_time_wins() -> None:
    t = NOW - timedelta(minutes=30)
    answered = [
        call(t, wait=15.0),
        call(t, wait=15.001),
        call(t, wait=40, wait_seconds=15.0),  # Asterisk's HoldTime over our timestamps
        call(t, wait=3, wait_seconds=16.0),
    ]
    today = compute_figures(answered, NOW, SHANGHAI).today
    assert (today.offered, today.answered, today.answered_within) == (4, 4, 2)
    assert today.service_level == 0.5 and today.answer_rate == 1.0
    assert today.average_wait == pytest.approx((15 + 15.001 + 15 + 16) / 4)
    assert compute_figures(answered, NOW, SHANGHAI, threshold=16).today.answered_within == 4


def test_beijing_midnight_starts_the_service_day() -> None:
    midnight = datetime(2024, 5, 1, 16, 0, tzinfo=UTC)  # 2024-05-02 00:00 in Beijing
    late = call(midnight - timedelta(seconds=1), wait=5)  # 23:59:59 yesterday
    early = call(midnight, wait=5)
    figures = compute_figures([late, early], midnight, SHANGHAI)
    assert figures.service_day == date(2024, 5, 2)
    assert (figures.today.offered, figures.last_24h.offered) == (1, 2)
    before = compute_figures([late], midnight - timedelta(seconds=1), SHANGHAI)
    assert (before.service_day, before.today.offered) == (date(2024, 5, 1), 1)
    # the zone is an argument, not a constant: in UTC both calls are on 2024-05-01
    assert compute_figures([late, early], midnight, ZoneInfo("UTC")).today.offered == 2


def test_waiting_calls_are_offered_but_neither_answered_nor_abandoned() -> None:
    waiting = [call(NOW - timedelta(seconds=70)), call(NOW - timedelta(seconds=5))]
    gone = [
        call(NOW - timedelta(minutes=9), abandoned_at=NOW - timedelta(minutes=8)),
        call(NOW - timedelta(minutes=9), ended_at=NOW - timedelta(minutes=8)),  # hung up
        # abandoned, then a late AgentConnect: answered after all
        call(NOW - timedelta(minutes=9), wait=30, abandoned_at=NOW - timedelta(minutes=8)),
    ]
    figures = compute_figures(waiting + gone, NOW, SHANGHAI)
    assert (figures.waiting, figures.longest_wait) == (2, 70.0)
    today = figures.today
    assert (today.offered, today.answered, today.abandoned) == (5, 1, 2)
    assert today.answer_rate == pytest.approx(0.2)


def test_a_call_open_for_hours_is_stale_not_waiting() -> None:
    """A lost hang-up must not put a phantom caller on the board."""
    lost = call(NOW - STALE_AFTER - timedelta(seconds=1))
    edge = call(NOW - STALE_AFTER)
    figures = compute_figures([lost, edge], NOW, SHANGHAI)
    assert (figures.waiting, figures.stale) == (1, 1)
    assert figures.longest_wait == STALE_AFTER.total_seconds()
    assert (figures.today.offered, figures.today.answered, figures.today.abandoned) == (2, 0, 0)
    shorter = compute_figures([lost, edge], NOW, SHANGHAI, stale_after=timedelta(hours=1))
    assert (shorter.waiting, shorter.stale, shorter.longest_wait) == (0, 2, None)
    with pytest.raises(ValueError, match="stale_after"):
        compute_figures([], NOW, SHANGHAI, stale_after=timedelta(hours=25))


def test_calls_older_than_both_windows_are_ignored() -> None:
    old = call(NOW - timedelta(hours=24, seconds=1), wait=5)
    assert compute_figures([old], NOW, SHANGHAI) == compute_figures([], NOW, SHANGHAI)


offsets = st.floats(min_value=0, max_value=2 * 86_400, allow_nan=False)
maybe_delay = st.none() | st.floats(min_value=0, max_value=3_600, allow_nan=False)


@st.composite
def queued_calls(draw: st.DrawFn) -> QueuedCall:
    """Any mix of facts, as lost and reordered events can leave them."""
    joined = NOW - timedelta(seconds=draw(offsets))
    after = {
        name: None if (delay := draw(maybe_delay)) is None else joined + timedelta(seconds=delay)
        for name in ("answered_at", "abandoned_at", "ended_at")
    }
    return QueuedCall(joined_at=joined, wait_seconds=draw(maybe_delay), **after)


@settings(deadline=None, max_examples=200)
@given(st.lists(queued_calls(), max_size=40), st.randoms())
def test_figures_hold_together_for_any_calls(found: list[QueuedCall], rnd: random.Random) -> None:
    figures = compute_figures(found, NOW, SHANGHAI)
    for tally in (figures.today, figures.last_24h):
        assert 0 <= tally.answered_within <= tally.answered <= tally.offered
        assert tally.answered + tally.abandoned <= tally.offered
        assert (tally.answer_rate is None) == (tally.offered == 0) == (tally.service_level is None)
        assert (tally.average_wait is None) == (tally.answered == 0)
    # Beijing has no summer time: today lies inside the last 24 hours
    assert figures.today.offered <= figures.last_24h.offered
    assert (figures.longest_wait is None) == (figures.waiting == 0)
    assert 0 <= (figures.longest_wait or 0) <= STALE_AFTER.total_seconds()
    rnd.shuffle(found)
    assert compute_figures(found, NOW, SHANGHAI) == figures


# --- a generated day through the database and the API ------------------------------------


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One generated call: what happens to it, and when it joined the queue."""

    kind: str  # ivr | answered | talking | lost_connect | abandoned | hung_up | waiting | stale
    joined: datetime
    wait: float = 0.0
    talk: float = 0.0
    uid: str = dataclasses.field(default_factory=lambda: f"wb-{uuid.uuid4().hex}")


def generated_day(now: datetime, midnight: datetime, seed: int = 12345) -> list[Scenario]:
    """About 70 calls over the last 30 hours, plus calls placed on every boundary."""
    rnd = random.Random(seed)
    kinds = ["ivr", "answered", "answered", "answered", "abandoned", "hung_up", "lost_connect"]
    made = []
    for _ in range(60):
        wait, talk = rnd.choice([rnd.uniform(0, 14.9), 15.0, rnd.uniform(15.1, 240)]), 90.0
        joined = now - timedelta(seconds=rnd.uniform(wait + talk + 1, 30 * 3600))
        made.append(Scenario(rnd.choice(kinds), joined, wait, talk))
    made += [Scenario("waiting", now - timedelta(seconds=s)) for s in (3, 75, 190)]
    made += [Scenario("talking", now - timedelta(seconds=50), wait=12)]
    made += [Scenario("stale", now - timedelta(hours=h)) for h in (5, 17)]
    day_ago = now - timedelta(hours=24)
    made += [
        Scenario("answered", midnight, wait=15.0),
        Scenario("answered", midnight - timedelta(seconds=1), wait=15.0),
        Scenario("abandoned", day_ago, wait=20),
        Scenario("answered", day_ago - timedelta(seconds=1), wait=2),
    ]
    return made


async def seed(sm: Sessions, scenarios: list[Scenario]) -> None:
    """Write each call as Asterisk's events would, through ivr.db.calls."""
    for s in scenarios:
        uid, answer = s.uid, s.joined + timedelta(seconds=s.wait)
        if s.kind == "ivr":  # hung up before reaching the queue: never counted
            await calls.open_call(
                sm, uniqueid=uid, channel="PJSIP/x", caller_number="138", started_at=s.joined
            )
            await calls.record_hangup(sm, uid, at=s.joined + timedelta(seconds=40), cause="16")
            continue
        await calls.record_queue_join(sm, uid, at=s.joined, queue=QUEUE)
        if s.kind in ("answered", "talking"):
            await calls.record_agent_connect(
                sm, uid, at=answer, agent="PJSIP/8001", hold_seconds=s.wait
            )
        if s.kind in ("answered", "lost_connect"):
            done = answer + timedelta(seconds=s.talk)
            await calls.record_agent_complete(
                sm, uid, at=done, talk_seconds=s.talk, reason="caller"
            )
        if s.kind == "abandoned":
            await calls.record_abandon(sm, uid, at=answer, wait_seconds=s.wait)
        if s.kind in ("answered", "lost_connect", "abandoned", "hung_up"):
            await calls.record_hangup(sm, uid, at=answer + timedelta(seconds=s.talk), cause="16")


def expected_tally(scenarios: list[Scenario], since: datetime) -> dict[str, Any]:
    """What the board must say of the calls that joined the queue since `since`."""
    offered = [s for s in scenarios if s.kind != "ivr" and s.joined >= since]
    answered = [s for s in offered if s.kind in ("answered", "talking", "lost_connect")]
    # a lost AgentConnect leaves only the end of the conversation to measure the wait by
    waits = [s.wait + (s.talk if s.kind == "lost_connect" else 0) for s in answered]
    within = sum(1 for w in waits if w <= 15)

    def percent(part: int) -> float | None:
        return 100 * part / len(offered) if offered else None

    return {
        "offered": len(offered),
        "answered": len(answered),
        "answered_within": within,
        "abandoned": sum(1 for s in offered if s.kind in ("abandoned", "hung_up")),
        "service_level": percent(within),
        "answer_rate": percent(len(answered)),
        "average_wait_seconds": sum(waits) / len(waits) if waits else None,
    }


def same_figures(shown: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Counts equal, figures equal to the one decimal the API gives."""
    if shown.keys() != wanted.keys():
        return False
    exact = {k for k, v in wanted.items() if v is None or isinstance(v, int)}
    rounded = {k: pytest.approx(v, abs=0.051) for k, v in wanted.items() if k not in exact}
    return all(shown[k] == wanted[k] for k in exact) and all(
        shown[k] == v for k, v in rounded.items()
    )


@pytest.fixture
def now(fresh_instant: Callable[[], datetime]) -> datetime:
    """Noon in Beijing on a day no other test uses, nor the day before or after."""
    _, middle, _ = fresh_instant(), fresh_instant(), fresh_instant()
    return middle


async def client_for(
    aiohttp_client: Callable[..., Awaitable[Client]],
    sm: Sessions,
    now: datetime,
    role: Role | None = Role.OFFICE,
    telephony: Telephony | None = None,
) -> Client:
    """A console client at `now`, logged in as a new user of `role` (None: not logged in)."""
    app = wallboard_app(db=sm, policy=ConsolePolicy(), clock=FakeClock(now), telephony=telephony)
    client = await aiohttp_client(app)
    if role is not None:
        assert (await login(client, await add_user(sm, role))).status == 303
    return client


async def test_api_figures_match_a_generated_day(
    aiohttp_client: Callable[..., Awaitable[Client]], db_sessionmaker: Sessions, now: datetime
) -> None:
    midnight = now.replace(hour=16) - timedelta(days=1)  # 00:00 Beijing, worked out by hand
    scenarios = generated_day(now, midnight)
    await seed(db_sessionmaker, scenarios)
    client = await client_for(aiohttp_client, db_sessionmaker, now)
    response = await client.get("/api/wallboard")
    assert response.status == 200
    body = await response.json()
    assert same_figures(body["today"], expected_tally(scenarios, midnight)), body["today"]
    day_ago = now - timedelta(hours=24)
    assert same_figures(body["last_24h"], expected_tally(scenarios, day_ago)), body["last_24h"]
    assert (body["waiting"], body["longest_wait_seconds"], body["stale"]) == (3, 190.0, 2)
    assert body["service_day"] == (now + timedelta(hours=8)).date().isoformat()
    assert (body["timezone"], body["agents"], body["threshold_seconds"]) == (
        "Asia/Shanghai",
        None,
        15.0,
    )
    direct = await wallboard_figures(db_sessionmaker, now=now, zone=SHANGHAI)
    assert (direct.today.offered, direct.waiting) == (body["today"]["offered"], 3)


async def test_agent_counts_come_from_asterisk_or_are_null(
    aiohttp_client: Callable[..., Awaitable[Client]], db_sessionmaker: Sessions, now: datetime
) -> None:
    app_queue = FakeAppQueue()
    await app_queue.presence.resync(app_queue)
    for n, (status, paused) in enumerate(
        [(1, "0"), (1, "0"), (1, "1"), (6, "0"), (2, "0"), (2, "1")]
    ):
        await app_queue.emit(
            "QueueMemberAdded", f"Local/81{n}@agents", status, Paused=paused, PausedReason=""
        )
    telephony = Telephony(app_queue, app_queue.presence)
    client = await client_for(aiohttp_client, db_sessionmaker, now, telephony=telephony)
    agents = (await (await client.get("/api/wallboard")).json())["agents"]
    assert agents == {"ready": 2, "paused": 1, "ringing": 1, "on_call": 2}
    app_queue.logged_in.clear()  # AMI down: the map may be stale, show nothing
    assert (await (await client.get("/api/wallboard")).json())["agents"] is None
    unsynced = FakeAppQueue()  # logged in, map not rebuilt yet
    telephony = Telephony(unsynced, unsynced.presence)
    client = await client_for(aiohttp_client, db_sessionmaker, now, telephony=telephony)
    assert (await (await client.get("/api/wallboard")).json())["agents"] is None


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.OFFICE, 200),
        (Role.LEADER, 200),
        (Role.AGENT, 403),
        (Role.DEPARTMENT, 403),
        (None, 401),
    ],
)
async def test_only_office_and_leaders_see_the_wallboard(
    aiohttp_client: Callable[..., Awaitable[Client]],
    db_sessionmaker: Sessions,
    now: datetime,
    role: Role | None,
    status: int,
) -> None:
    client = await client_for(aiohttp_client, db_sessionmaker, now, role)
    assert (await client.get("/api/wallboard")).status == status
    page = await client.get("/wallboard", allow_redirects=False)
    if role is None:
        assert (page.status, page.headers["Location"]) == (302, "/login")
        return
    assert page.status == status
    if status == 200:
        text = await page.text()
        assert '<script src="/static/wallboard.js" defer>' in text and "wallboard.css" in text
        assert "15秒接通率" in text and '<main class="wide">' in text


def test_wallboard_routes_say_who_may_use_them() -> None:
    app = wallboard_app(db=MagicMock(), policy=ConsolePolicy())
    access = {r.resource.canonical: access_of(r.handler) for r in app.router.routes() if r.resource}
    assert access["/wallboard"] == access["/api/wallboard"] == {Role.OFFICE, Role.LEADER}
