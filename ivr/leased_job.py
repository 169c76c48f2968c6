"""A periodic job that one of several ivr processes does at a time, under a database lease.

Every `interval` each process asks for the job's lease (ivr.db.lease); the one that holds
it does the work. The holder keeps renewing its lease, so the same process goes on doing
the work; when it stops (or dies) another one takes over once the lease has expired. A
lease does not promise exclusivity to a stalled holder, so each job's work must be safe
to do twice at once (reminders have unique keys; a follow-up call is claimed on the case).

A failed run is logged and the next one tries again: a job never takes the process down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from ivr.db import lease
from ivr.db.calls import Sessions
from ivr.db.engine import utcnow

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]

DEFAULT_INTERVAL = 60.0
DEFAULT_TTL = timedelta(minutes=5)


class LeasedJob:
    """Runs `work` while it holds the lease named `lease_name`; one per job and process."""

    job_name = "job"  # each job names its log events and, by default, its lease

    def __init__(
        self,
        sm: Sessions,
        *,
        clock: Clock = utcnow,
        holder: str | None = None,
        lease_name: str | None = None,
        lease_ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        self.sm = sm
        self.clock = clock
        self.holder = holder or lease.holder_id()
        self.lease_name = lease_name or self.job_name
        self.lease_ttl = lease_ttl

    async def work(self, now: datetime) -> int:
        """The job's work at `now`, done by the lease holder; how much it did."""
        raise NotImplementedError

    async def finish(self) -> None:
        """What to end before the lease is given up (a job with calls in flight ends them)."""

    async def run_once(self, now: datetime) -> int:
        """Take the lease and do the work due at `now`; 0 when another process holds it."""
        took = await lease.acquire(
            self.sm, self.lease_name, self.holder, now=now, ttl=self.lease_ttl
        )
        return await self.work(now) if took else 0

    async def run_forever(self, stop: asyncio.Event, interval: float = DEFAULT_INTERVAL) -> None:
        """Run every `interval` seconds until `stop` is set, then give the lease up."""
        if not 0 < interval < self.lease_ttl.total_seconds():
            raise ValueError(f"interval {interval}s must be positive and shorter than the lease")
        log.info(f"{self.job_name}_started", holder=self.holder, interval=interval)
        try:
            while not stop.is_set():
                await self._run_logged()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
        finally:
            await self.finish()
            await self._release()

    async def _run_logged(self) -> None:
        try:
            await self.run_once(self.clock())
        except Exception:
            # a database that is away for a moment must not end the job for good
            log.exception(f"{self.job_name}_run_failed", holder=self.holder)

    async def _release(self) -> None:
        try:
            await lease.release(self.sm, self.lease_name, self.holder)
        except Exception:
            log.exception(f"{self.job_name}_release_failed", holder=self.holder)
        log.info(f"{self.job_name}_stopped", holder=self.holder)
