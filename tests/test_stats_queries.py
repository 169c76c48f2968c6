"""Statistics from the database equal figures worked out here from the rows themselves.

Each test writes a few days of synthetic traffic (ivr.sim.traffic: calls, cases, assignments,
replies, surveys) to an empty database, SQLite and PostgreSQL, reads every row back with a
plain SELECT, and computes the expected figures in plain Python (`expect`), never by calling
the code under test. Periods: an hour-by-hour day, a leader-duty day, an ISO week across a
month end, two months, a range, a year, and a month with nothing in it. The rollup must give
the same figures as the live queries, before and after real workflow moves change cases.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import calls as call_records
from ivr.db import stats_job, workflow_close
from ivr.db.models import Call, Case, CaseStatus
from ivr.db.stats_marks import refresh_marks
from ivr.db.stats_queries import reading
from ivr.db.stats_read import statistics
from ivr.db.stats_rollup import RollupConfig, roll_days
from ivr.db.workflow_models import CaseAssignment, CaseSurvey
from ivr.db.workflow_state import Actor
from ivr.sim.traffic import LEADER_QUEUE, Plan, Traffic, generate, reference_rows
from ivr.sim.traffic_load import load, load_reference, next_ids
from ivr.stats.digest import Statistics
from ivr.stats.periods import Grain, Kind, Period, days_between, period_of
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import Party

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
ZONE = ZoneInfo("Asia/Shanghai")
CONFIG = RollupConfig(ZONE, LEADER_QUEUE)
# Mon 29 Apr to Thu 2 May 2024: a week, a month end, and Wednesday 1 May a leader-duty day
PLAN = Plan(first_day=date(2024, 4, 29), days=4, calls_per_day=160, seed=7)
NOW = PLAN.until + timedelta(days=3)  # every generated day is settled
Row = dict[str, Any]


@dataclasses.dataclass
class World:
    """Every row the statistics read, as the database holds them."""

    calls: list[Row]
    cases: dict[int, Row]
    assignments: list[Row]
    surveys: list[Row]


async def world_of(sm: Sessions) -> World:
    """Read the rows back with plain SELECTs."""
    async with sm() as session:

        async def rows(table: Any) -> list[Row]:
            return [dict(r._mapping) for r in await session.execute(select(table))]

        cases = {row["id"]: row for row in await rows(Case.__table__)}
        return World(
            await rows(Call.__table__),
            cases,
            await rows(CaseAssignment.__table__),
            await rows(CaseSurvey.__table__),
        )


async def generated(sm: Sessions, plan: Plan = PLAN, extra: Traffic | None = None) -> None:
    """Load the plan's traffic (and some hand-made rows) into an empty database."""
    plan = dataclasses.replace(plan, first_ids=await next_ids(sm))
    await load_reference(sm, reference_rows(plan))
    days = list(generate(plan))
    await load(sm, [*days, *([extra] if extra else [])])


# --- the expected figures, from the rows -----------------------------------------------


def local_day(at: datetime) -> date:
    """The service day an instant falls on."""
    return at.astimezone(ZONE).date()


def inside(at: datetime | None, period: Period) -> bool:
    """Whether an instant falls on one of the period's days."""
    return at is not None and period.first <= local_day(at) <= period.last


def call_facts(row: Row) -> dict[str, Any]:
    """One call's contribution, by the rules written in ivr.stats.figures."""
    answered_at = row["answered_at"] or row["completed_at"]
    answered = answered_at is not None
    wait = None
    if answered:
        measured = (answered_at - row["queue_joined_at"]).total_seconds()
        wait = max(0.0, row["wait_seconds"] if row["wait_seconds"] is not None else measured)
    talked = answered and row["talk_seconds"] is not None
    return {
        "offered": 1,
        "answered": int(answered),
        "answered_within": int(answered and wait is not None and wait <= 15.0),
        "abandoned": int(not answered and (row["abandoned_at"] or row["ended_at"]) is not None),
        "wait_total": wait or 0.0,
        "talked": int(talked),
        "talk_total": row["talk_seconds"] if talked else 0.0,
    }


def summed(facts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Field-wise sums."""
    total: dict[str, Any] = defaultdict(int)
    for one in facts:
        for key, value in one.items():
            total[key] += value
    return dict(total)


CASE_KEYS = [
    *("received", "dispatched", "accepted", "accepted_on_time", "replied", "replied_on_time"),
    *("due", "closed", "surveyed", "satisfied", "resolved", "reworked"),
]


def case_parts(world: World, period: Period) -> list[tuple[str | None, bool, dict[str, int]]]:
    """Every (department, leader's, counts) contribution of the period's case steps."""
    parts: list[tuple[str | None, bool, dict[str, int]]] = []
    for a in world.assignments:
        case, lead = world.cases[a["case_id"]], a["role"] == "lead"
        leader = case["leader_handled"]
        if inside(a["accepted_at"], period):
            on_time = int(a["accepted_at"] <= a["accept_due"])
            parts.append((a["department"], leader, {"accepted": 1, "accepted_on_time": on_time}))
        if lead and inside(a["replied_at"], period):
            on_time = int(a["replied_at"] <= a["reply_due"])
            parts.append((a["department"], leader, {"replied": 1, "replied_on_time": on_time}))
        if lead and inside(a["dispatched_at"], period):
            kind = "reworked" if a["kind"] == "rework" else "dispatched"
            parts.append((a["department"], leader, {kind: 1}))
        owing = lead and a["current"] and a["withdrawn_at"] is None
        if owing and case["status"] != "merged" and inside(a["reply_due"], period):
            closed = int(case["status"] in ("followed_up", "archived"))
            parts.append((a["department"], leader, {"due": 1, "closed": closed}))
    leads = {
        (a["case_id"], a["round"]): a["department"]
        for a in world.assignments
        if a["role"] == "lead"
    }
    for s in world.surveys:
        if inside(s["at"], period):
            content = s["satisfaction"] in ("satisfied", "basically_satisfied")
            counts = {"surveyed": 1, "satisfied": int(content), "resolved": int(s["resolved"])}
            leader = world.cases[s["case_id"]]["leader_handled"]
            parts.append((leads.get((s["case_id"], s["round"])), leader, counts))
    return parts


def expect(world: World, period: Period) -> dict[str, Any]:
    """The period's figures, worked out from the rows."""
    calls = [c for c in world.calls if inside(c["queue_joined_at"], period)]
    received = [
        c
        for c in world.cases.values()
        if inside(c["created_at"], period) and c["status"] != "draft"
    ]
    parts = case_parts(world, period)
    departments: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CASE_KEYS, 0))
    leader_cases = dict.fromkeys(CASE_KEYS, 0) | {
        "received": sum(c["leader_handled"] for c in received)
    }
    for department, leader, counts in parts:
        for key, value in counts.items():
            departments[department or ""][key] += value
            if leader:
                leader_cases[key] += value
    answered = [c for c in calls if call_facts(c)["answered"]]
    by_agent: dict[str, list[Row]] = defaultdict(list)
    for call in answered:
        by_agent[call["agent"] or ""].append(call)
    return {
        "calls": summed(map(call_facts, calls)),
        "leader_calls": summed(call_facts(c) for c in calls if c["queue"] == LEADER_QUEUE),
        "per_day": Counter(local_day(c["queue_joined_at"]) for c in calls),
        "received": len(received),
        "received_per_day": Counter(local_day(c["created_at"]) for c in received),
        "categories": Counter(c["category"] for c in received),
        "priorities": Counter(c["priority"] for c in received),
        "departments": {name: dict(counts) for name, counts in departments.items()},
        "leader_cases": leader_cases,
        "agents": {agent: summed(map(call_facts, rows)) for agent, rows in by_agent.items()},
    }


# --- what the statistics say, in the same shape ------------------------------------------


def as_dict(sums: object) -> dict[str, Any]:
    """A sums dataclass as a dict, without its zero fields (the expected ones leave them out)."""
    return {k: v for k, v in dataclasses.asdict(sums).items() if v}  # type: ignore[call-overload]


def check(stats: Statistics, wanted: dict[str, Any]) -> None:
    """Assert that the statistics say what the rows say (floats to 1e-6)."""
    assert_sums(as_dict(stats.calls), wanted["calls"])
    assert_sums(as_dict(stats.leader_calls), wanted["leader_calls"])
    assert stats.cases.received == wanted["received"]
    assert dict(stats.by_category) == dict(wanted["categories"])
    assert dict(stats.by_priority) == dict(wanted["priorities"])
    got_departments = {name: as_dict(s) for name, s in stats.by_department}
    assert got_departments == {
        k: {n: v for n, v in d.items() if v} for k, d in wanted["departments"].items()
    }
    assert as_dict(stats.leader_cases) == {k: v for k, v in wanted["leader_cases"].items() if v}
    for key in CASE_KEYS[1:]:
        assert getattr(stats.cases, key) == sum(d[key] for d in wanted["departments"].values())
    got_agents = {line.interface: as_dict(line.calls) for line in stats.by_agent}
    assert got_agents.keys() == wanted["agents"].keys()
    for agent, sums in wanted["agents"].items():
        assert_sums(got_agents[agent], {k: v for k, v in sums.items() if k != "abandoned"})
    if stats.grain is not Grain.HOUR:
        per_day = {p.bucket.key: p.calls.offered for p in stats.series if p.calls.offered}
        if stats.grain is Grain.DAY:
            assert per_day == dict(wanted["per_day"])
            received = {p.bucket.key: p.received for p in stats.series if p.received}
            assert received == dict(wanted["received_per_day"])
        assert sum(per_day.values()) == wanted["calls"].get("offered", 0)


def assert_sums(got: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Counts exactly, totals of seconds to 1e-6."""
    wanted = {k: v for k, v in wanted.items() if v}
    assert got.keys() == wanted.keys()
    for key, value in wanted.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key


PERIODS = [
    (period_of(Kind.DAY, date(2024, 4, 30)), Grain.HOUR),
    (period_of(Kind.DAY, date(2024, 5, 1)), Grain.DAY),  # the leader-duty day, by day
    (period_of(Kind.WEEK, date(2024, 5, 2)), Grain.DAY),
    (period_of(Kind.MONTH, date(2024, 4, 1)), Grain.WEEK),
    (period_of(Kind.MONTH, date(2024, 5, 1)), Grain.DAY),
    (days_between(date(2024, 4, 30), date(2024, 5, 1)), Grain.DAY),
    (period_of(Kind.YEAR, date(2024, 1, 1)), Grain.MONTH),
]


async def test_live_figures_equal_the_rows_in_every_kind_of_period(
    own_sessionmaker: Sessions,
) -> None:
    await generated(own_sessionmaker)
    world = await world_of(own_sessionmaker)
    assert any(c["queue"] == LEADER_QUEUE for c in world.calls), "the plan has a leader-duty day"
    for period, grain in PERIODS:
        stats = await statistics(own_sessionmaker, period, grain, CONFIG, now=NOW, rollup=False)
        check(stats, expect(world, period))
    hours = await statistics(own_sessionmaker, *PERIODS[0], CONFIG, now=NOW, rollup=False)
    by_hour = Counter(
        c["queue_joined_at"].astimezone(ZONE).hour
        for c in world.calls
        if inside(c["queue_joined_at"], PERIODS[0][0])
    )
    assert [p.calls.offered for p in hours.series] == [by_hour.get(h, 0) for h in range(24)]
    leader_day = await statistics(own_sessionmaker, *PERIODS[1], CONFIG, now=NOW, rollup=False)
    assert leader_day.leader_calls.offered > 0 and leader_day.leader_cases.received > 0
    other_day = await statistics(own_sessionmaker, *PERIODS[0], CONFIG, now=NOW, rollup=False)
    assert other_day.leader_calls.offered == 0  # a Tuesday: no leader on duty


async def test_a_month_with_nothing_in_it_has_no_rates(own_sessionmaker: Sessions) -> None:
    await generated(own_sessionmaker, dataclasses.replace(PLAN, days=1))
    stats = await statistics(
        own_sessionmaker, period_of(Kind.MONTH, date(2025, 1, 1)), Grain.DAY, CONFIG, now=NOW
    )
    assert stats.calls.offered == 0 and stats.cases.received == 0
    rates = (stats.calls.answer_rate, stats.calls.service_level, stats.calls.average_wait)
    rates += (stats.cases.closure_rate, stats.cases.satisfaction_rate, stats.cases.on_time_reply)
    assert rates == (None,) * 6
    assert len(stats.series) == 31 and stats.by_department == () and stats.by_agent == ()


async def test_rollup_equals_the_live_figures_and_follows_case_changes(
    own_sessionmaker: Sessions,
) -> None:
    sm = own_sessionmaker
    await generated(sm)
    assert await roll_days(sm, CONFIG, now=NOW, limit=100) == 6  # 29 Apr to 4 May: all settled
    assert await roll_days(sm, CONFIG, now=NOW, limit=100) == 0  # once only
    assert await refresh_marks(sm, CONFIG, limit=10**6)
    world = await world_of(sm)
    for period, grain in PERIODS[2:]:
        check(await statistics(sm, period, grain, CONFIG, now=NOW), expect(world, period))

    # real workflow moves, days later: a content follow-up closes a replied case, the office
    # reopens a closed one (a new round, due later), and a late draft is registered
    later = NOW + timedelta(days=2)
    office = Actor("office-stats", Party.OFFICE)
    replied = next(c for c in world.cases.values() if c["status"] == "replied")
    await workflow_close.record_follow_up(
        sm,
        replied["id"],
        actor=office,
        at=later,
        rules=WorkflowRules(),
        resolved=True,
        satisfaction="satisfied",
    )
    closed = next(c for c in world.cases.values() if c["status"] == "followed_up")
    await workflow_close.reopen(
        sm, closed["id"], actor=office, at=later, rules=WorkflowRules(), citizen_words="还是没修好"
    )
    draft = next(c for c in world.cases.values() if c["status"] == "draft")
    async with sm.begin() as session:
        values = {"status": CaseStatus.REGISTERED.value, "updated_at": later, "category": "health"}
        await session.execute(update(Case).where(Case.id == draft["id"]).values(values))
    changed = await world_of(sm)
    assert changed != world
    for period, grain in PERIODS[2:]:
        rolled = await statistics(sm, period, grain, CONFIG, now=later)
        check(rolled, expect(changed, period))
        live = await statistics(sm, period, grain, CONFIG, now=later, rollup=False)
        check(live, expect(changed, period))


async def test_a_settings_change_empties_the_rollup(own_sessionmaker: Sessions) -> None:
    sm = own_sessionmaker
    await generated(sm, dataclasses.replace(PLAN, days=2))
    await roll_days(sm, CONFIG, now=NOW, limit=10)
    other = RollupConfig(ZoneInfo("Asia/Urumqi"), LEADER_QUEUE)
    assert await roll_days(sm, other, now=NOW, limit=10) >= 2  # rolled again, in Urumqi time
    period = period_of(Kind.MONTH, date(2024, 4, 1))
    world = await world_of(sm)
    check(await statistics(sm, period, Grain.DAY, CONFIG, now=NOW), expect(world, period))


def boundary_traffic() -> Traffic:
    """Two calls and their cases a second apart across midnight, Beijing time."""
    extra = Traffic()
    for n, local in enumerate(
        [datetime(2024, 4, 30, 23, 59, 59, 999_999), datetime(2024, 5, 1, 0, 0, 0)], start=1
    ):
        joined = local.replace(tzinfo=ZONE).astimezone(UTC)
        case_id = 900_000 + n
        extra.cases.append(
            {
                "id": case_id,
                "number": f"EDGE{n}",
                "status": "registered",
                "channel": "phone",
                "caller_number": "13800000000",
                "transcript": "",
                "transcript_available": False,
                "category": "urban",
                "department": "市城管执法局",
                "priority": "normal",
                "summary": "",
                "whistleblower": False,
                "abandoned": False,
                "needs_callback": False,
                "leader_handled": False,
                "first_contact_resolved": False,
                "version": 1,
                "created_at": joined,
                "updated_at": joined,
            }
        )
        extra.calls.append(
            {
                "id": 900_000 + n,
                "uniqueid": f"edge-{n}",
                "started_at": joined - timedelta(seconds=30),
                "stage": "ended",
                "via_fallback": False,
                "queue": "hotline-agents",
                "queue_joined_at": joined,
                "answered_at": joined + timedelta(seconds=15),
                "wait_seconds": None,  # measured from the timestamps: exactly 15 s
                "completed_at": joined + timedelta(seconds=75),
                "ended_at": joined + timedelta(seconds=75),
                "talk_seconds": 60.0,
                "agent": "PJSIP/6000",
                "outcome": "answered",
                "needs_callback": False,
                "case_id": case_id,
            }
        )
    return extra


async def test_midnight_beijing_time_divides_the_days(own_sessionmaker: Sessions) -> None:
    sm = own_sessionmaker
    await load(sm, [boundary_traffic()])
    period = days_between(date(2024, 4, 30), date(2024, 5, 1))
    for rollup in (False, True):
        stats = await statistics(sm, period, Grain.DAY, CONFIG, now=NOW, rollup=rollup)
        assert [(p.bucket.key, p.calls.offered, p.received) for p in stats.series] == [
            (date(2024, 4, 30), 1, 1),
            (date(2024, 5, 1), 1, 1),
        ]
        assert stats.calls.answered_within == 2  # 15.000 s from the timestamps is within
    hours = await statistics(
        sm, period_of(Kind.DAY, date(2024, 4, 30)), Grain.HOUR, CONFIG, now=NOW
    )
    assert [p.calls.offered for p in hours.series] == [0] * 23 + [1]
    may = await statistics(sm, period_of(Kind.MONTH, date(2024, 5, 1)), Grain.DAY, CONFIG, now=NOW)
    assert may.calls.offered == 1 and may.series[0].calls.offered == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_long_read_on_sqlite_keeps_no_writer_waiting(own_sessionmaker: Sessions) -> None:
    sm = own_sessionmaker
    async with reading(sm) as session:
        await session.execute(select(Call.id).limit(1))
        write = call_records.open_call(
            sm,
            uniqueid="while-reading",
            channel="PJSIP/x",
            caller_number="1",
            started_at=datetime(2024, 5, 1, tzinfo=UTC),
        )
        await asyncio.wait_for(write, timeout=5)  # BEGIN IMMEDIATE would hold it 15 s


async def test_the_rollup_job_rolls_a_few_days_a_run_under_its_lease(
    own_sessionmaker: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    sm = own_sessionmaker
    await generated(sm, dataclasses.replace(PLAN, days=2))
    monkeypatch.setattr(stats_job, "DAYS_PER_RUN", 4)
    first, second = (stats_job.StatsRollupJob(sm, CONFIG, holder=h) for h in ("a", "b"))
    assert await first.run_once(NOW) == 4  # 29 Apr to 4 May are settled: the newest four
    assert await second.run_once(NOW) == 0  # the lease is first's
    assert await first.run_once(NOW) == 2
    assert await first.run_once(NOW) == 0
    period = period_of(Kind.MONTH, date(2024, 4, 1))
    world = await world_of(sm)
    check(await statistics(sm, period, Grain.DAY, CONFIG, now=NOW), expect(world, period))
