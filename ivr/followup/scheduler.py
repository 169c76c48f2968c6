"""The automatic follow-up (回访): calls the citizens of replied cases when their call is due.

A leased job (ivr.leased_job), so one ivr process places the calls at a time. Each run reads
the replied cases (ivr.db.followups), asks `ivr.followup.schedule` which calls are due and
starts as many as there are free lines (`followup_concurrent_calls`); a call runs in its
own task and holds its line until the attempt failed or the survey (which runs on the call,
over FastAGI, maybe in another process) is over — answered, or noted unfinished — or
`survey_timeout` passed; a run never waits for a ringing phone. Every call is claimed on the
case first: should a stalled holder and its successor both decide to call, one of them
finds the attempt taken and leaves it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog

from ivr.db import followups
from ivr.db.calls import Sessions
from ivr.db.engine import utcnow
from ivr.errors import ClaimConflict, IvrError
from ivr.followup.dialer import call_citizen
from ivr.followup.schedule import CallingPolicy, PendingFollowUp, due_now
from ivr.handlers.agent_presence import AmiLink
from ivr.leased_job import DEFAULT_TTL, Clock, LeasedJob
from ivr.settings import Settings

log = structlog.get_logger(__name__)

LEASE_NAME = "followup"
SURVEY_TIMEOUT = 300.0  # seconds a line is held for one survey at most
SURVEY_POLL = 2.0


class FollowUpScheduler(LeasedJob):
    """Places the due follow-up calls while it holds the lease; one per process."""

    job_name = LEASE_NAME

    def __init__(
        self,
        sm: Sessions,
        ami: AmiLink,
        settings: Settings,
        *,
        clock: Clock = utcnow,
        holder: str | None = None,
        lease_name: str = LEASE_NAME,
        lease_ttl: timedelta = DEFAULT_TTL,
        survey_timeout: float = SURVEY_TIMEOUT,
    ) -> None:
        super().__init__(sm, clock=clock, holder=holder, lease_name=lease_name, lease_ttl=lease_ttl)
        self.survey_timeout = survey_timeout
        self.ami = ami
        self.settings = settings
        self.policy = CallingPolicy.from_settings(settings)
        self.lines = settings.followup_concurrent_calls
        self._calls: dict[int, asyncio.Task[None]] = {}  # case id → its call, while it rings

    async def work(self, now: datetime) -> int:
        """Start the calls due at `now` that free lines allow; how many were started."""
        if not self.ami.logged_in.is_set():
            return 0  # no AMI, no calls: they stay due and start once it is back
        free = self.lines - len(self._calls)
        if free <= 0:
            return 0
        waiting = [item for _, item in await followups.pending(self.sm)]
        ringing = set(self._calls)
        due = [item for item in due_now(waiting, now, self.policy) if item.case_id not in ringing]
        for item in due[:free]:
            self._start(item, now)
        return min(free, len(due))

    def _start(self, item: PendingFollowUp, now: datetime) -> None:
        task = asyncio.create_task(self._call(item, now), name=f"followup-{item.case_id}")
        self._calls[item.case_id] = task

        def done(_: asyncio.Task[None]) -> None:
            self._calls.pop(item.case_id, None)

        task.add_done_callback(done)

    async def _survey_over(self, case_id: int, since: datetime) -> None:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.survey_timeout
        while not await followups.settled(self.sm, case_id, since=since):
            if loop.time() >= give_up:
                log.warning("followup_survey_timeout", case_id=case_id)
                return
            await asyncio.sleep(min(SURVEY_POLL, give_up - loop.time()))

    async def idle(self) -> None:
        """Until the calls started so far have been answered or have failed."""
        while self._calls:
            await asyncio.gather(*self._calls.values(), return_exceptions=True)

    async def finish(self) -> None:
        """Stop ringing: calls not yet answered are dropped (they are tried again later)."""
        for task in list(self._calls.values()):
            task.cancel()
        await asyncio.gather(*self._calls.values(), return_exceptions=True)

    async def _call(self, item: PendingFollowUp, now: datetime) -> None:
        try:
            attempt = await call_citizen(
                self.ami, self.settings, self.sm, item.case_id, at=now, seen_attempts=item.attempts
            )
            if attempt.answered:
                await self._survey_over(item.case_id, now)
        except ClaimConflict:
            log.info("followup_call_taken", case_id=item.case_id)
        except IvrError as exc:  # the case moved on meanwhile, or AMI went away
            log.warning("followup_call_skipped", case_id=item.case_id, reason=str(exc))
        except Exception:
            log.exception("followup_call_failed", case_id=item.case_id)
