"""The urging scheduler (催办/督办) that runs inside every ivr process.

Every `interval` each process asks for the database lease "urging" (ivr.db.lease); the one
that holds it reads the open assignments, asks `ivr.workflow.urging` which reminders are
due and stores the new ones (ivr.db.urging). The holder keeps renewing its lease, so the
same process goes on doing the work; when it stops (or dies) another one takes over once
the lease has expired. Should two run at once anyway (a holder stalled past its lease),
each reminder is still raised once: its key is unique in the database.

A failed run is logged and the next one tries again: the scheduler never takes the
process down. Working out the reminders (calendar arithmetic over every open case) runs
in a worker thread, so calls and pages are not kept waiting meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from ivr.db import lease
from ivr.db import urging as store
from ivr.db.calls import Sessions
from ivr.db.engine import utcnow
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.urging import Reminder, UrgingPolicy, due_reminders

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]

LEASE_NAME = "urging"
DEFAULT_INTERVAL = 60.0
DEFAULT_TTL = timedelta(minutes=5)


class UrgingScheduler:
    """Raises the due reminders while it holds the lease; one per process."""

    def __init__(
        self,
        sm: Sessions,
        *,
        rules: WorkflowRules,
        policy: UrgingPolicy | None = None,
        clock: Clock = utcnow,
        holder: str | None = None,
        lease_name: str = LEASE_NAME,
        lease_ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        self.sm = sm
        self.rules = rules
        self.policy = policy or UrgingPolicy()
        self.clock = clock
        self.holder = holder or lease.holder_id()
        self.lease_name = lease_name
        self.lease_ttl = lease_ttl

    async def run_once(self, now: datetime) -> int:
        """Take the lease and raise what is due at `now`; how many reminders were new."""
        took = await lease.acquire(
            self.sm, self.lease_name, self.holder, now=now, ttl=self.lease_ttl
        )
        if not took:
            return 0
        due = await self.due(now)
        raised = await store.raise_reminders(self.sm, due, now=now)
        if raised:
            log.info("urging_raised", reminders=raised, holder=self.holder)
        return raised

    async def due(self, now: datetime) -> list[Reminder]:
        """The reminders due at `now` that are not stored yet."""
        work = await store.open_work(self.sm, self.rules.policy)
        calendar = self.rules.calendar(work.days)
        due = await asyncio.to_thread(due_reminders, work.assignments, now, calendar, self.policy)
        return [reminder for reminder in due if reminder.key not in work.raised]

    async def run_forever(self, stop: asyncio.Event, interval: float = DEFAULT_INTERVAL) -> None:
        """Run every `interval` seconds until `stop` is set, then give the lease up."""
        if not 0 < interval < self.lease_ttl.total_seconds():
            raise ValueError(f"interval {interval}s must be positive and shorter than the lease")
        log.info("urging_started", holder=self.holder, interval=interval)
        try:
            while not stop.is_set():
                await self._run_logged()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=interval)
        finally:
            await self._release()

    async def _run_logged(self) -> None:
        try:
            await self.run_once(self.clock())
        except Exception:
            # a database that is away for a moment must not end urging for good
            log.exception("urging_run_failed", holder=self.holder)

    async def _release(self) -> None:
        try:
            await lease.release(self.sm, self.lease_name, self.holder)
        except Exception:
            log.exception("urging_release_failed", holder=self.holder)
        log.info("urging_stopped", holder=self.holder)
