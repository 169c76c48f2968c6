"""The hot-topic job (热点预警): every minute, under its own lease, the new cases go through
the detector and new alerts are raised once, with their cases.

It is a leased job (ivr.leased_job): the process holding the "hot_topics" lease keeps a
detector in memory and feeds it what changed since its last run: the cases of the last
day that are new or have a new version (a transcript arrived, an agent wrote the summary),
and the older hours the usual level needs. A process that takes the lease over, restarts,
or has not run for longer than the window builds its detector afresh from the database
(the last day and the same hours of the previous weeks), so nothing depends on which
process ran before. Detection (jieba, the counting) runs in a worker thread. Should two
processes run at once, the store still raises each alert once (ivr.db.hot_topics).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

import structlog

from ivr.db import hot_topic_feed as feed
from ivr.db import hot_topics as store
from ivr.db import sensitive_words
from ivr.db.calls import Sessions
from ivr.db.engine import utcnow
from ivr.hotspots.detector import Detector
from ivr.hotspots.model import DAY, CaseDoc, Finding, HotspotPolicy
from ivr.hotspots.signature import Analyzer
from ivr.leased_job import DEFAULT_TTL, Clock, LeasedJob

log = structlog.get_logger(__name__)

LEASE_NAME = "hot_topics"
SentKey = tuple[str, str, datetime | None]


class HotTopicJob(LeasedJob):
    """Detects hot topics while it holds the lease; one per process."""

    job_name = LEASE_NAME

    def __init__(
        self,
        sm: Sessions,
        *,
        policy: HotspotPolicy | None = None,
        clock: Clock = utcnow,
        holder: str | None = None,
        lease_name: str = LEASE_NAME,
        lease_ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        super().__init__(sm, clock=clock, holder=holder, lease_name=lease_name, lease_ttl=lease_ttl)
        self.policy = policy or HotspotPolicy()
        self.detector: Detector | None = None
        self._analyzer: Analyzer | None = None  # jieba's dictionary, loaded once
        self._sent: dict[SentKey, frozenset[int]] = {}  # what was stored, so far

    async def work(self, now: datetime) -> int:
        """Detect at `now` and store what was found; how many alerts were new."""
        words = await sensitive_words.active_words(self.sm)
        try:
            detector = await self._detector(now)
            changed = await self._changed(detector, now)
            older = await feed.cases_within(self.sm, detector.history_spans(now))
            found = await asyncio.to_thread(_detect, detector, changed, older, words, now)
            raised = await store.save_findings(self.sm, self._unsent(found), now=now)
        except BaseException:
            # rebuilt on the next run: whatever this one found is found again, not lost
            self.detector = None
            self._sent.clear()
            raise
        self._mark_sent(found)
        if raised:
            log.info("hot_topics_raised", alerts=raised, findings=len(found), holder=self.holder)
        return raised

    async def _detector(self, now: datetime) -> Detector:
        if self.detector is not None and not self.detector.stale(now):
            return self.detector
        since = await feed.first_case_at(self.sm)
        self.detector = await asyncio.to_thread(self._new_detector, since)
        self._sent.clear()
        log.info("hot_topics_detector_built", since=since, holder=self.holder)
        return self.detector

    def _new_detector(self, since: datetime | None) -> Detector:
        self._analyzer = self._analyzer or Analyzer()
        return Detector(self.policy, self._analyzer, since=since)

    async def _changed(self, detector: Detector, now: datetime) -> list[CaseDoc]:
        versions = await feed.recent_versions(self.sm, after=now - DAY, until=now)
        known = detector.versions()
        return await feed.case_docs(self.sm, (i for i, v in versions.items() if known.get(i) != v))

    def _unsent(self, found: Iterable[Finding]) -> list[Finding]:
        # a surge is found again every minute it lasts: store it only when it has new cases
        return [f for f in found if not set(f.case_ids) <= self._sent.get(_sent_key(f), set())]

    def _mark_sent(self, found: Iterable[Finding]) -> None:
        for finding in found:
            key = _sent_key(finding)
            self._sent[key] = self._sent.get(key, frozenset()) | set(finding.case_ids)
        if len(self._sent) > 10_000:  # a day's worth is plenty
            self._sent.clear()


def _sent_key(finding: Finding) -> SentKey:
    window = finding.window_start if finding.continues_after is None else None
    return finding.kind.value, finding.key, window


def _detect(
    detector: Detector,
    changed: Sequence[CaseDoc],
    older: Sequence[CaseDoc],
    words: Collection[str],
    now: datetime,
) -> list[Finding]:
    # in a worker thread: segmentation and counting take milliseconds to seconds
    detector.remember(older)
    detector.observe(changed)
    return detector.run(now, words)
