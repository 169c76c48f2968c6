"""The urging scheduler (催办/督办) that runs inside every ivr process.

It is a leased job (ivr.leased_job): the process holding the "urging" lease reads the open
assignments, asks `ivr.workflow.urging` which reminders are due and stores the new ones
(ivr.db.urging). Should two run at once anyway (a holder stalled past its lease), each
reminder is still raised once: its key is unique in the database. Working out the
reminders (calendar arithmetic over every open case) runs in a worker thread, so calls and
pages are not kept waiting meanwhile.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog

from ivr.db import urging as store
from ivr.db.calls import Sessions
from ivr.db.engine import utcnow
from ivr.leased_job import DEFAULT_TTL, Clock, LeasedJob
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.urging import Reminder, UrgingPolicy, due_reminders

log = structlog.get_logger(__name__)

LEASE_NAME = "urging"


class UrgingScheduler(LeasedJob):
    """Raises the due reminders while it holds the lease; one per process."""

    job_name = LEASE_NAME

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
        super().__init__(sm, clock=clock, holder=holder, lease_name=lease_name, lease_ttl=lease_ttl)
        self.rules = rules
        self.policy = policy or rules.urging

    async def work(self, now: datetime) -> int:
        """Raise what is due at `now`; how many reminders were new."""
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
