"""The statistics rollup job: one ivr process at a time (under a database lease) keeps
`stats_daily` up to date, so long statistics periods read the rollup instead of a year of
rows (ivr.db.stats_rollup says what it holds and how).

Each run brings the case marks up to date, then rolls the settled days not rolled yet,
newest first, a few a run, so a first run over years of history spreads its work over many
minutes instead of one long transaction. `ivr serve` starts it beside the urging and
follow-up jobs (IvrRuntime._start_jobs).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from ivr.db.calls import Sessions
from ivr.db.engine import utcnow
from ivr.db.stats_marks import refresh_marks
from ivr.db.stats_rollup import RollupConfig, roll_days
from ivr.leased_job import DEFAULT_TTL, Clock, LeasedJob

log = structlog.get_logger(__name__)

LEASE_NAME = "stats_rollup"
MARKS_PER_RUN = 100_000
DAYS_PER_RUN = 7


class StatsRollupJob(LeasedJob):
    """Keeps the statistics rollup up to date while it holds the lease; one per process."""

    job_name = LEASE_NAME

    def __init__(
        self,
        sm: Sessions,
        config: RollupConfig,
        *,
        clock: Clock = utcnow,
        holder: str | None = None,
        lease_name: str = LEASE_NAME,
        lease_ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        super().__init__(sm, clock=clock, holder=holder, lease_name=lease_name, lease_ttl=lease_ttl)
        self.config = config

    async def work(self, now: datetime) -> int:
        """Refresh the case marks and roll some settled days; how many days were rolled."""
        caught_up = await refresh_marks(self.sm, self.config, limit=MARKS_PER_RUN)
        rolled = await roll_days(self.sm, self.config, now=now, limit=DAYS_PER_RUN)
        if rolled or not caught_up:
            log.info("stats_rollup_ran", days_rolled=rolled, marks_caught_up=caught_up)
        return rolled
