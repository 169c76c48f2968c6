"""How long the hot-topic detector takes on a year of a large city's synthetic traffic.

Run: .venv/bin/python bench/surge_detector.py [--days 365] [--per-day 20000]
     [--backfill-step 10] [--db-days 4] [--db-per-day 2000]

1. Backfill, in memory: `--days` days of `--per-day` cases (ivr.sim.case_stream; once the
   history is full, a salt rush and noise at one place are injected every four weeks) go
   through the pure detector as they came, a run every `--backfill-step` minutes. The last
   day runs every minute, as the job does, and each of its runs is timed.
2. The job against a database: `--db-days` days in a fresh SQLite file, then the leased job
   (ivr.hotspots.job) every minute through the last day's morning, its reads included.

Prints figures, not assertions: alerts per kind, whether each injected surge was found and
how soon, and the time per run against the time it covers.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from ivr.db.calls import Sessions
from ivr.db.engine import make_engine, make_sessionmaker
from ivr.db.insight_models import AlertKind
from ivr.db.migrate import upgrade_database
from ivr.db.models import Case
from ivr.hotspots.detector import Detector
from ivr.hotspots.job import HotTopicJob
from ivr.hotspots.model import CaseDoc, Finding, HotspotPolicy
from ivr.hotspots.replay import Episodes, replay
from ivr.sim.case_stream import NOISE_ROUTES, ZONE, CaseStream, case_row, merged
from ivr.sim.case_texts import NOISE, SALT

FIRST = date(2031, 1, 1)
INJECT_EVERY = 28  # days between injected surges, once the history is full
RUSH, NOISY = 200, 40  # calls in the salt rush (in 2 hours) and at the noisy place (in 3)


@dataclass
class Injected:
    """A surge put into the traffic, and how soon an alert of its kind took it up."""

    name: str
    kind: AlertKind
    start: datetime
    cases: set[int]
    found_after: timedelta | None = None


@dataclass
class Backfill:
    """What the in-memory run measured."""

    cases: int = 0
    generating: float = 0.0
    detecting: float = 0.0
    runs: int = 0
    minute_runs: list[float] = field(default_factory=list)  # the last day's, in seconds
    episodes: Episodes = field(default_factory=Episodes)
    injected: list[Injected] = field(default_factory=list)


def midnight(day: date) -> datetime:
    """Local midnight of a day."""
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)


def day_cases(
    stream: CaseStream, n: int, policy: HotspotPolicy
) -> tuple[list[CaseDoc], list[Injected]]:
    """Day n's cases, with a salt rush at 9:00 and noise at 19:00 on every fourth week."""
    day = FIRST + timedelta(days=n)
    ordinary = stream.day(day)
    if n < policy.baseline_days or n % INJECT_EVERY:
        return ordinary, []
    rush = stream.inject(SALT, midnight(day) + timedelta(hours=9), RUSH, timedelta(hours=2))
    place = stream.writer.places[100 + n % 200]
    noise = stream.inject(
        NOISE,
        midnight(day) + timedelta(hours=19),
        NOISY,
        timedelta(hours=3),
        place=place,
        routes=NOISE_ROUTES,
        seed=f"noise{n}",
    )
    injected = [
        Injected("salt rush", AlertKind.SURGE, rush[0].created_at, {c.id for c in rush}),
        Injected(f"noise at {place}", AlertKind.PLACE, noise[0].created_at, {c.id for c in noise}),
    ]
    return merged(ordinary, rush, noise), injected


def backfill(days: int, per_day: int, step: timedelta, policy: HotspotPolicy) -> Backfill:
    """The days through the pure detector; the last one with a run every minute."""
    out, stream, detector = Backfill(), CaseStream(per_day=per_day), Detector(policy)
    for n in range(days):
        started = time.perf_counter()
        cases, injected = day_cases(stream, n, policy)
        out.generating += time.perf_counter() - started
        out.cases += len(cases)
        out.injected += injected
        last = n == days - 1
        day = midnight(FIRST + timedelta(days=n))
        ticks = _run_day(detector, cases, day, timedelta(minutes=1) if last else step, out)
        if last:
            out.minute_runs = [b - a for a, b in itertools.pairwise(ticks)]
        if n % 30 == 29 or last:
            alerts = len(out.episodes.raised)
            print(
                f"  day {n + 1}: {out.cases} cases, {alerts} alerts, {out.detecting:.0f} s",
                flush=True,
            )
    _found(out)
    return out


def _run_day(
    detector: Detector, cases: Sequence[CaseDoc], day: datetime, step: timedelta, out: Backfill
) -> list[float]:
    ticks = [time.perf_counter()]

    def on_run(now: datetime, found: list[Finding]) -> None:
        ticks.append(time.perf_counter())
        out.runs += 1

    end = day + timedelta(days=1) - step
    replay(detector, cases, day, end, step, on_run=on_run, episodes=out.episodes)
    out.detecting += ticks[-1] - ticks[0]
    return ticks


def _found(out: Backfill) -> None:
    for surge in out.injected:
        for episode in out.episodes.raised:
            hit = episode.first.kind == surge.kind and episode.case_ids & surge.cases
            if hit and len(episode.case_ids & surge.cases) * 2 >= len(episode.case_ids):
                surge.found_after = episode.raised_at - surge.start
                break


def report_backfill(
    out: Backfill, days: int, per_day: int, step: timedelta, policy: HotspotPolicy
) -> None:
    """Print what the in-memory run measured."""
    injected = set().union(*(s.cases for s in out.injected)) if out.injected else set()
    kinds = Counter(e.first.kind.value for e in out.episodes.raised)
    unexplained = Counter(
        e.first.kind.value
        for e in out.episodes.raised
        if e.first.kind in (AlertKind.SURGE, AlertKind.PLACE) and not e.case_ids & injected
    )
    covered = days * 86400
    runs = out.minute_runs or [0.0]
    print(
        f"\n== backfill: {days} days, {out.cases} cases ({per_day}/day asked), run every "
        f"{step.total_seconds() / 60:g} min, the last day every minute"
    )
    print(f"generating the traffic: {out.generating:.1f} s (not counted below)")
    print(
        f"detector, whole backfill: {out.detecting:.1f} s for {out.runs} runs = "
        f"{out.detecting / covered:.2e} of the time covered ({days} days)"
    )
    print(
        f"detector, per case (signature, topics, history): "
        f"{out.detecting / max(out.cases, 1) * 1e6:.0f} µs on average"
    )
    window = policy.window.total_seconds()
    print(
        f"last day, one run a minute ({len(out.minute_runs)} runs): mean "
        f"{statistics.mean(runs) * 1e3:.1f} ms, p95 {_p95(runs) * 1e3:.1f} ms, max "
        f"{max(runs) * 1e3:.1f} ms; mean / 60 s interval = {statistics.mean(runs) / 60:.2e}, "
        f"mean / {window / 3600:g} h window = {statistics.mean(runs) / window:.2e}"
    )
    print(
        f"alerts raised: {dict(kinds)}; surge or place alerts with no injected case: "
        f"{dict(unexplained) or 0}"
    )
    print(
        f"alerts per day: {len(out.episodes.raised) / days:.1f} "
        f"(repeat: {kinds.get('repeat', 0) / days:.1f})"
    )
    for surge in out.injected:
        after = "NOT FOUND" if surge.found_after is None else f"found after {surge.found_after}"
        print(f"  {surge.start.astimezone(ZONE):%Y-%m-%d %H:%M} {surge.name}: {after}")


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


async def database_run(days: int, per_day: int, policy: HotspotPolicy) -> None:
    """The leased job against SQLite: `days` days stored, the last day's morning minute by
    minute (cases stored as they come, then a run), a salt rush at 9:00."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'ivr.db'}"
        await upgrade_database(url)
        engine = make_engine(url)
        try:
            await _job_mornings(make_sessionmaker(engine), days, per_day, policy)
        finally:
            await engine.dispose()


async def _job_mornings(sm: Sessions, days: int, per_day: int, policy: HotspotPolicy) -> None:
    stream = CaseStream(per_day=per_day, seed=77)
    last = FIRST + timedelta(days=days - 1)
    eight, noon = midnight(last) + timedelta(hours=8), midnight(last) + timedelta(hours=12)
    rush = stream.inject(SALT, eight + timedelta(hours=1), RUSH // 2, timedelta(hours=2))
    cases = merged(*(stream.day(FIRST + timedelta(days=n)) for n in range(days)), rush)
    await _store(sm, [c for c in cases if c.created_at <= eight])
    job = HotTopicJob(sm, policy=policy)
    began = time.perf_counter()
    await job.run_once(eight)
    first, runs, raised = time.perf_counter() - began, [], 0
    now = eight
    while now < noon:
        now += timedelta(minutes=1)
        await _store(sm, [c for c in cases if now - timedelta(minutes=1) < c.created_at <= now])
        began = time.perf_counter()
        raised += await job.run_once(now)
        runs.append(time.perf_counter() - began)
    stored = sum(c.created_at <= noon for c in cases)
    print(f"\n== the job on SQLite: {days} days, {stored} cases stored, runs 08:00-12:00")
    print(f"first run (the last day and the past weeks' hours read, detector built): {first:.2f} s")
    print(
        f"then one run a minute ({len(runs)} runs, reads included): mean "
        f"{statistics.mean(runs) * 1e3:.0f} ms, p95 {_p95(runs) * 1e3:.0f} ms, "
        f"max {max(runs) * 1e3:.0f} ms; alerts raised: {raised}"
    )


async def _store(sm: Sessions, cases: Sequence[CaseDoc]) -> None:
    if cases:
        async with sm.begin() as session:
            await session.execute(insert(Case), [case_row(c) for c in cases])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=20_000)
    parser.add_argument("--backfill-step", type=int, default=10, help="minutes between runs")
    parser.add_argument("--db-days", type=int, default=4, help="0 skips the database run")
    parser.add_argument("--db-per-day", type=int, default=2_000)
    args = parser.parse_args(argv)
    policy = HotspotPolicy()
    step = timedelta(minutes=args.backfill_step)
    out = backfill(args.days, args.per_day, step, policy)
    report_backfill(out, args.days, args.per_day, step, policy)
    if args.db_days:
        asyncio.run(database_run(args.db_days, args.db_per_day, policy))
    return 0


if __name__ == "__main__":
    sys.exit(main())
