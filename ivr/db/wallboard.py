"""The wallboard's queue figures: a pure computation over call facts, and the query feeding it.

What each figure counts (a "queue call" is a call with `queue_joined_at`, i.e. offered to
the agent queue; calls that ended in the IVR are never counted):

- answered: an agent answered it (`answered_at`; `completed_at` stands in when the
  AgentConnect event was lost, as `Call.settle` does). A late AgentConnect after an
  abandon still makes it answered.
- abandoned: not answered, and the caller gave up (`abandoned_at`) or hung up (`ended_at`)
  after joining the queue: the same rule as `Call.settle`.
- open: neither answered nor abandoned.
- waiting now: open calls that joined at most `stale_after` (default 4 h) ago.
- stale: open calls that joined longer ago than that. Some event was lost (Asterisk or the
  ivr process restarted mid-call); nobody waits on hold for hours, so a stale call is not
  shown as waiting, which would put a phantom caller on the board until midnight and
  beyond. It stays offered (it did reach the queue) but is neither answered nor
  abandoned: its period's rates are not flattered by a call whose fate is unknown, and the
  board shows how many there are so someone looks into them.
- longest wait: seconds since the earliest still-waiting call joined (None: nobody waits).
- a period's offered / answered / answered within / abandoned: queue calls that joined
  in the period, whatever happened to them later; a call still waiting is offered but
  neither answered nor abandoned. "Today" is the service day: from midnight in the given
  time zone (Asia/Shanghai for the hotline) until now. "Last 24 h" is [now - 24 h, now].
- wait of an answered call: Asterisk's hold time (`wait_seconds`), else answered minus
  joined (when `completed_at` stands in, that is an upper bound: never a flattering one).
  Answered within the threshold (default 15 s, GB/T 33358-2016): wait <= threshold, so
  exactly 15 s is within.
- service level: answered within / offered; answer rate: answered / offered. Both are
  ratios in [0, 1], and None when nothing was offered (no calls is not 0 %).
- average wait: the mean wait of the period's answered calls (None when none was answered).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db.models import Call

ANSWER_THRESHOLD_SECONDS = 15.0  # GB/T 33358-2016: answer within 15 s
STALE_AFTER = timedelta(hours=4)
DAY = timedelta(hours=24)


@dataclasses.dataclass(frozen=True)
class QueuedCall:
    """The facts the wallboard needs of one call that joined the agent queue."""

    joined_at: datetime
    answered_at: datetime | None = None
    abandoned_at: datetime | None = None
    ended_at: datetime | None = None
    wait_seconds: float | None = None  # Asterisk's hold time, when it reported one

    @property
    def answered(self) -> bool:
        """An agent answered the call."""
        return self.answered_at is not None

    @property
    def abandoned(self) -> bool:
        """The caller left the queue unanswered."""
        return not self.answered and (self.abandoned_at is not None or self.ended_at is not None)

    @property
    def open(self) -> bool:
        """Neither answered nor abandoned (yet, or ever if an event was lost)."""
        return not self.answered and not self.abandoned

    def wait(self) -> float | None:
        """Seconds from joining the queue to the answer (None: not answered)."""
        if self.answered_at is None:
            return None
        if self.wait_seconds is not None:
            return max(0.0, self.wait_seconds)
        return max(0.0, (self.answered_at - self.joined_at).total_seconds())


@dataclasses.dataclass(frozen=True)
class Tally:
    """The queue calls that joined in one period, and what became of them."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    average_wait: float | None = None

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold / offered, or None when nothing was offered."""
        return _ratio(self.answered_within, self.offered)

    @property
    def answer_rate(self) -> float | None:
        """Answered / offered, or None when nothing was offered."""
        return _ratio(self.answered, self.offered)


@dataclasses.dataclass(frozen=True)
class Figures:
    """Everything the wallboard shows about the queue at one instant."""

    at: datetime
    service_day: date
    threshold_seconds: float
    waiting: int
    longest_wait: float | None
    stale: int
    today: Tally
    last_24h: Tally


def service_day_start(now: datetime, zone: ZoneInfo) -> datetime:
    """Midnight (in `zone`) that began the service day `now` falls in, in UTC."""
    local_day = now.astimezone(zone).date()
    return datetime.combine(local_day, time(), tzinfo=zone).astimezone(UTC)


def window_start(now: datetime, zone: ZoneInfo) -> datetime:
    """The earliest queue join any figure at `now` depends on."""
    # a service day lasts 25 h when a zone leaves summer time: take whichever reaches back
    return min(service_day_start(now, zone), now - DAY)


def compute_figures(
    calls: Iterable[QueuedCall],
    now: datetime,
    zone: ZoneInfo,
    *,
    threshold: float = ANSWER_THRESHOLD_SECONDS,
    stale_after: timedelta = STALE_AFTER,
) -> Figures:
    """The wallboard's figures at `now` from the facts of the queue calls (see the module)."""
    if not timedelta(0) < stale_after <= DAY:
        # a waiting call must lie inside the window the query loads
        raise ValueError(f"stale_after {stale_after} is not in (0, 24 h]")
    day_start = service_day_start(now, zone)
    known = [c for c in calls if c.joined_at >= window_start(now, zone)]
    open_calls = [c for c in known if c.open]
    waiting = [c for c in open_calls if now - c.joined_at <= stale_after]
    waits = [max(0.0, (now - c.joined_at).total_seconds()) for c in waiting]
    return Figures(
        at=now,
        service_day=now.astimezone(zone).date(),
        threshold_seconds=threshold,
        waiting=len(waiting),
        longest_wait=max(waits, default=None),
        stale=len(open_calls) - len(waiting),
        today=tally([c for c in known if c.joined_at >= day_start], threshold),
        last_24h=tally([c for c in known if c.joined_at >= now - DAY], threshold),
    )


def tally(calls: Sequence[QueuedCall], threshold: float = ANSWER_THRESHOLD_SECONDS) -> Tally:
    """Count the calls of one period (all of them count as offered)."""
    waits = [w for w in (c.wait() for c in calls) if w is not None]
    return Tally(
        offered=len(calls),
        answered=len(waits),
        answered_within=sum(1 for w in waits if w <= threshold),
        abandoned=sum(1 for c in calls if c.abandoned),
        # fsum: the same average whatever order the rows came in
        average_wait=math.fsum(waits) / len(waits) if waits else None,
    )


async def wallboard_figures(
    sm: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    zone: ZoneInfo,
    threshold: float = ANSWER_THRESHOLD_SECONDS,
    stale_after: timedelta = STALE_AFTER,
) -> Figures:
    """The wallboard's figures at `now`, from the calls table."""
    calls = await queued_calls_since(sm, window_start(now, zone))
    return compute_figures(calls, now, zone, threshold=threshold, stale_after=stale_after)


async def queued_calls_since(
    sm: async_sessionmaker[AsyncSession], since: datetime
) -> list[QueuedCall]:
    """The facts of every call that joined the queue at or after `since`."""
    query = select(
        Call.queue_joined_at,
        Call.answered_at,
        Call.completed_at,
        Call.abandoned_at,
        Call.ended_at,
        Call.wait_seconds,
    ).where(Call.queue_joined_at >= since)
    async with sm() as session:
        rows = (await session.execute(query)).all()
    return [
        QueuedCall(
            joined_at=joined,
            # a completed conversation was answered even if its AgentConnect was lost
            answered_at=answered or completed,
            abandoned_at=abandoned,
            ended_at=ended,
            wait_seconds=wait,
        )
        for joined, answered, completed, abandoned, ended, wait in rows
        if joined is not None  # the WHERE says so; this tells the type checker
    ]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
