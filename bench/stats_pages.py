"""How long the statistics pages take on a year of a large city's traffic (≈20,000 calls a day).

For each database given (an empty one; by default a temporary SQLite file) the run:

1. generates the traffic with ivr.sim.traffic (calls, their cases, assignments, replies,
   surveys) and bulk-loads it (COPY on PostgreSQL, executemany on SQLite), timed;
2. builds the statistics rollup as the rollup job would (settled days, then case marks), timed;
3. times the statistics queries counted live (no rollup) for a day, a week, a month and the
   year, then the pages through the real web app (logged in as the office, over HTTP): the
   day, week, month and year pages, the year's JSON, the month's workbook and the 月报 PDF
   (the first request of each, and the median of three more);

and prints everything side by side, one column per database, with the ratios between them
and between views, and the year's figures (which must be the same on every database).

    .venv/bin/python bench/stats_pages.py                       # a year on SQLite
    .venv/bin/python bench/stats_pages.py --days 30 --calls-per-day 2000   # a quick look
    .venv/bin/python bench/stats_pages.py --database-url sqlite \
        --database-url postgresql+asyncpg://postgres@127.0.0.1/ivr_stats_bench
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from sqlalchemy import func, make_url, select

from ivr.db import users
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.migrate import upgrade_database
from ivr.db.models import Call
from ivr.db.stats_marks import refresh_marks
from ivr.db.stats_read import statistics as read_statistics
from ivr.db.stats_rollup import RollupConfig, roll_days
from ivr.sim.traffic import LEADER_QUEUE, SHANGHAI, Plan, generate, reference_rows
from ivr.sim.traffic_load import load, load_reference, next_ids
from ivr.stats.periods import Grain, Kind, period_of
from ivr.web.app import make_app
from ivr.web.state import ConsolePolicy

PASSWORD = "bench password 12345"
Result = dict[str, Any]


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """Seconds `work` took, and what it gave."""
    start = time.perf_counter()
    value = await work()
    return time.perf_counter() - start, value


async def fill(sm: Any, plan: Plan, out: Result) -> None:
    """Generate and load the traffic."""
    plan = Plan(**{**plan.__dict__, "first_ids": await next_ids(sm)})
    await load_reference(sm, reference_rows(plan))
    seconds, counts = await timed(lambda: load(sm, generate(plan)))
    out["generate + load (s)"] = seconds
    out["rows loaded"] = sum(counts.values())
    out["rows per second"] = sum(counts.values()) / seconds
    out |= {f"rows: {table}": n for table, n in counts.items()}


async def build_rollup(sm: Any, config: RollupConfig, now: datetime, out: Result) -> None:
    """What the rollup job does, all at once."""
    seconds, days = await timed(lambda: roll_days(sm, config, now=now, limit=10_000))
    out["rollup: days rolled"] = days
    out["rollup: days (s)"] = seconds
    seconds, _ = await timed(lambda: refresh_marks(sm, config, limit=10**9))
    out["rollup: case marks (s)"] = seconds


def views(last: date) -> dict[str, tuple[Any, Grain]]:
    """The periods timed: the last day, its week, its month, its year."""
    return {
        "day": (period_of(Kind.DAY, last), Grain.HOUR),
        "week": (period_of(Kind.WEEK, last), Grain.DAY),
        "month": (period_of(Kind.MONTH, last), Grain.DAY),
        "year": (period_of(Kind.YEAR, last), Grain.MONTH),
    }


async def live_queries(
    sm: Any, config: RollupConfig, last: date, now: datetime, out: Result
) -> None:
    """The statistics counted live, without the rollup."""
    for name, (period, grain) in views(last).items():
        seconds, _ = await timed(
            lambda p=period, g=grain: read_statistics(sm, p, g, config, now=now, rollup=False)
        )
        out[f"live query: {name} (s)"] = seconds


async def pages(sm: Any, last: date, now: datetime, out: Result) -> None:
    """The pages through the web app, as the office asks for them."""
    users.HASHER = PasswordHasher(time_cost=1, memory_cost=1024)  # the login is not measured
    await users.create_user(sm, "bench-office", PASSWORD, "office", display_name="热线办")
    app = make_app(lambda: {}, db=sm, policy=ConsolePolicy(), clock=lambda: now)
    async with TestClient(TestServer(app)) as client:
        form = await (await client.get("/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        login = {"csrf_token": token.group(1), "username": "bench-office", "password": PASSWORD}
        await client.post("/login", data=login)
        month = f"{last:%Y-%m}"
        paths = {f"page: {name}": f"/stats?period={name}&date={last}" for name in views(last)}
        paths |= {
            "json: year": f"/api/stats?period=year&date={last}",
            "xlsx: month, all tables": f"/stats/export/all.xlsx?period=month&date={last}",
            "pdf: 月报": f"/stats/report.pdf?month={month}",
        }
        for name, path in paths.items():
            times = []
            for _ in range(4):
                seconds, response = await timed(lambda path=path: client.get(path))
                await response.read()
                assert response.status == 200, (path, response.status)
                times.append(seconds)
            out[f"{name}, first (s)"] = times[0]
            out[f"{name}, median (s)"] = statistics.median(times[1:])


async def year_figures(
    sm: Any, config: RollupConfig, last: date, now: datetime, out: Result
) -> None:
    """The year's figures, to compare across databases."""
    period, grain = views(last)["year"]
    stats = await read_statistics(sm, period, grain, config, now=now)
    calls, cases = stats.calls, stats.cases
    out["figure: calls offered"] = calls.offered
    out["figure: 接通率 %"] = round((calls.answer_rate or 0) * 100, 2)
    out["figure: 15秒接通率 %"] = round((calls.service_level or 0) * 100, 2)
    out["figure: cases received"] = cases.received
    out["figure: 办结率 %"] = round((cases.closure_rate or 0) * 100, 2)
    out["figure: 满意率 %"] = round((cases.satisfaction_rate or 0) * 100, 2)
    out["figure: leader-desk calls"] = stats.leader_calls.offered


async def run(url: str, plan: Plan) -> Result:
    """Everything, on one database."""
    out: Result = {"database": make_url(url).get_backend_name()}
    await upgrade_database(url)
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    try:
        async with sm() as session:
            if await session.scalar(select(func.count()).select_from(Call)):
                raise SystemExit(f"{url} already holds calls: give an empty database")
        last = plan.first_day + timedelta(days=plan.days - 1)
        now = datetime.combine(last + timedelta(days=2), datetime.min.time(), SHANGHAI)
        now = now.replace(hour=12).astimezone(UTC)
        config = RollupConfig(SHANGHAI, LEADER_QUEUE)
        print(f"[{out['database']}] generating {plan.days} days …", flush=True)
        await fill(sm, plan, out)
        print(f"[{out['database']}] live queries …", flush=True)
        await live_queries(sm, config, last, now, out)
        print(f"[{out['database']}] building the rollup …", flush=True)
        await build_rollup(sm, config, now, out)
        print(f"[{out['database']}] pages …", flush=True)
        await pages(sm, last, now, out)
        await year_figures(sm, config, last, now, out)
    finally:
        await engine.dispose()
    return out


def report(results: list[Result], plan: Plan) -> None:
    """Print the results side by side."""
    print()
    print(
        f"statistics bench: {plan.days} days from {plan.first_day}, ≈{plan.calls_per_day} calls/day"
    )
    names = [r["database"] for r in results]
    header = f"{'':42}" + "".join(f"{n:>14}" for n in names)
    if len(results) == 2:
        header += f"{names[1] + '/' + names[0]:>22}"
    print(header)
    for key in results[0]:
        if key == "database":
            continue
        values = [r.get(key) for r in results]
        line = f"{key:42}" + "".join(f"{_cell(v):>14}" for v in values)
        if len(values) == 2 and all(isinstance(v, float) and v for v in values):
            line += f"{values[1] / values[0]:>22.2f}"
        print(line)
    for r in results:
        for a, b in (
            ("page: year, median (s)", "page: month, median (s)"),
            ("live query: year (s)", "page: year, median (s)"),
            ("live query: month (s)", "page: month, median (s)"),
        ):
            print(f"[{r['database']}] {a} / {b}: {r[a] / r[b]:.1f}")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return str(value)


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=366)
    parser.add_argument("--calls-per-day", type=int, default=20_000)
    parser.add_argument("--first-day", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument(
        "--database-url",
        action="append",
        help="an empty database (repeat for several); 'sqlite' is a temporary SQLite file",
    )
    args = parser.parse_args()
    plan = Plan(args.first_day, args.days, args.calls_per_day, args.seed)
    with tempfile.TemporaryDirectory(prefix="stats-bench-") as scratch:
        urls = [
            f"sqlite+aiosqlite:///{Path(scratch) / f'stats{n}.db'}" if url == "sqlite" else url
            for n, url in enumerate(args.database_url or ["sqlite"])
        ]
        results = [asyncio.run(run(url, plan)) for url in urls]
    report(results, plan)


if __name__ == "__main__":
    main()
