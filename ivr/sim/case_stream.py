"""Synthetic case traffic for the hot-topic detector: ordinary days and injected surges.

An ordinary day has `per_day` cases (fewer at weekends), spread over the hours as a
hotline's calls are (quiet at night, busiest mid-morning), each about an issue of
ivr.sim.case_texts drawn by its weight, at a place drawn by its popularity, from a caller
drawn at random. `inject` adds a burst: one issue (the salt rush, noise at one place, a
streetlight three neighbours call about) within a given time, worded many ways. Every
case gets the next id, so the tests know exactly which cases a surge was made of.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.db.models import CaseChannel, CaseStatus
from ivr.hotspots.model import CaseDoc
from ivr.sim.case_texts import ISSUES, CaseWriter, Issue

ZONE = ZoneInfo("Asia/Shanghai")
# Share of a day's calls in each local hour (12345 lines: quiet at night, peaks at 9-11, 14-16).
HOURLY = (
    *(0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 3.0, 6.0, 8.5, 9.0, 8.0),
    *(6.0, 5.5, 7.5, 8.0, 7.5, 6.0, 4.5, 4.0, 3.5, 2.5, 1.5, 1.0),
)
WEEKEND = 0.75
# Noise has no department of its own: callers' cases end up wherever the agent sends them.
NOISE_ROUTES = (
    ("urban", "市城管执法局"),
    ("public_security", "市公安局"),
    ("environment", "市生态环境局"),
    ("housing", "市住建局"),
    ("other", ""),
)


@dataclasses.dataclass
class CaseStream:
    """Makes cases with increasing ids; deterministic for a seed."""

    per_day: int = 20_000
    seed: int = 12345
    writer: CaseWriter = dataclasses.field(default_factory=CaseWriter)
    next_id: int = 1
    issues: Sequence[Issue] = ISSUES

    def __post_init__(self) -> None:
        self._weights = [issue.weight for issue in self.issues]

    def day(self, day: date) -> list[CaseDoc]:
        """An ordinary day's cases, in the order they came."""
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        expected = self.per_day * (WEEKEND if day.weekday() >= 5 else 1.0)
        count = max(0, round(rng.gauss(expected, expected**0.5)))
        start = datetime.combine(day, time(), ZONE)
        hours = rng.choices(range(24), HOURLY, k=count)
        times = sorted(start + timedelta(hours=h, seconds=rng.uniform(0, 3600)) for h in hours)
        issues = rng.choices(self.issues, self._weights, k=count)
        return [self._case(issue, at, rng) for issue, at in zip(issues, times, strict=True)]

    def inject(
        self,
        issue: Issue,
        start: datetime,
        count: int,
        within: timedelta,
        *,
        place: str | None = None,
        number: int | None = None,
        routes: Sequence[tuple[str, str]] = (),
        seed: str = "surge",
    ) -> list[CaseDoc]:
        """`count` cases about `issue` within `within` of `start` (at `place` when given)."""
        rng = random.Random(f"{self.seed}:{seed}:{start.isoformat()}")
        step = within / max(count, 1)
        times = [start + step * i + step * rng.random() for i in range(count)]
        made = []
        for at in times:
            route = rng.choice(routes) if routes else None
            made.append(self._case(issue, at, rng, place=place, number=number, route=route))
        return made

    def _case(
        self,
        issue: Issue,
        at: datetime,
        rng: random.Random,
        *,
        place: str | None = None,
        number: int | None = None,
        route: tuple[str, str] | None = None,
    ) -> CaseDoc:
        text = self.writer.write(issue, rng, place, number)
        category, department = route or (text.category, text.department)
        case = CaseDoc(
            id=self.next_id,
            created_at=at.astimezone(UTC),
            caller=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            category=category,
            summary=text.summary,
            transcript=text.transcript,
            address=text.address,
            department=department,
        )
        self.next_id += 1
        return case


def case_row(doc: CaseDoc, **fields: Any) -> dict[str, Any]:
    """The `cases` row of a simulated case, as a registration would have written it."""
    return {
        "status": CaseStatus.REGISTERED.value,
        "channel": CaseChannel.PHONE.value,
        "caller_number": doc.caller,
        "transcript": doc.transcript,
        "transcript_available": True,
        "category": doc.category,
        "department": doc.department,
        "priority": "normal",
        "summary": doc.summary,
        "address": doc.address,
        "version": 1,
        "created_at": doc.created_at,
        "updated_at": doc.created_at,
    } | fields


def merged(*streams: Iterable[CaseDoc]) -> list[CaseDoc]:
    """Cases from several streams in the order they came."""
    return sorted((case for stream in streams for case in stream), key=lambda c: c.created_at)


def days(first: date, count: int) -> list[date]:
    """`count` days from `first`."""
    return [first + timedelta(days=n) for n in range(count)]
