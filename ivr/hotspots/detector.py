"""The detector: the recent day's cases in topics, the older ones as history, and a run.

Pure, the time passed in. Feed it with `observe` (new or changed cases: their text grows
from the IVR's draft to the agent's summary) and, for the usual level, `remember` (older
cases; a fresh detector asks for the hours it needs with `history_spans`). `run(now)`:

1. cases older than a day move from the topics to the history;
2. topic surges: every topic with enough callers in the window is tested against the
   usual level of its centre (ivr.hotspots.surges); place surges likewise, by place name;
3. repeats among the cases new since the last run (ivr.hotspots.repeats);
4. sensitive words in the new cases, or in all recent ones when the list changed.

A finding is returned on every run its condition holds; the store raises it once. A
topic's or place's usual level is counted afresh for every decision that could be a surge;
the last count is remembered for `USUAL_TTL` only to pass over, without counting, the many
topics nowhere near one, so a quiet run costs milliseconds even for a large city.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime, timedelta

import numpy as np

from ivr.cases.places import places_in
from ivr.hotspots.history import History, Span
from ivr.hotspots.model import DAY, CaseDoc, Finding, HotspotPolicy, Signal
from ivr.hotspots.repeats import repeat_findings
from ivr.hotspots.rows import Rows, dense
from ivr.hotspots.sensitive import sensitive_findings
from ivr.hotspots.signature import Analyzer, centre
from ivr.hotspots.surges import Context, callers, is_surge, place_finding, topic_finding
from ivr.hotspots.topics import TopicIndex

USUAL_TTL = timedelta(minutes=15)
NEAR = 0.75  # how far a usual level may fall within USUAL_TTL


class Detector:
    """Hot-topic detection over a stream of cases (see the module)."""

    def __init__(
        self,
        policy: HotspotPolicy | None = None,
        analyzer: Analyzer | None = None,
        *,
        since: datetime | None = None,
    ) -> None:
        self.policy = policy or HotspotPolicy()
        self.analyzer = analyzer or Analyzer()
        self.since = since  # the first case there is (history before it is not missing)
        self.topics = TopicIndex(self.policy.join_similarity)
        self.history = History()
        self.last_run: datetime | None = None
        self._signals: dict[int, Signal] = {}
        self._order: list[tuple[float, int]] = []  # (created_at, id) of the recent cases
        self._at_place: dict[int, dict[int, Signal]] = {}
        self._place_ids: dict[str, int] = {}
        self._place_names: list[str] = []
        self._fresh: set[int] = set()
        self._words: frozenset[str] = frozenset()
        self._usual: dict[tuple[str, int], tuple[datetime, float]] = {}

    def observe(self, docs: Iterable[CaseDoc]) -> None:
        """Take in new cases and new versions of known ones."""
        for doc in docs:
            known = self._signals.get(doc.id)
            if known is not None and known.doc.version == doc.version:
                continue
            self._unplace(known)
            signal = self._signal(doc)
            self._signals[doc.id] = signal
            if known is None:
                bisect.insort(self._order, (doc.created_at.timestamp(), doc.id))
            for name in signal.names:
                self._at_place.setdefault(name, {})[doc.id] = signal
            self.topics.add(doc.id, signal.vector)
            self._fresh.add(doc.id)
            self._seen(doc.created_at)

    def remember(self, docs: Iterable[CaseDoc]) -> None:
        """Take in older cases, for the usual level only."""
        for doc in docs:
            signal = self._signal(doc)
            self.history.add(doc.created_at, signal.vector, signal.names)
            self._seen(doc.created_at)

    def versions(self) -> dict[int, int]:
        """The recent cases held, and the version of each."""
        return {case_id: s.doc.version for case_id, s in self._signals.items()}

    def stale(self, now: datetime) -> bool:
        """Whether so long has passed since the last run that cases may have been missed."""
        return self.last_run is not None and now - self.last_run > self.policy.window

    def history_spans(self, now: datetime) -> list[Span]:
        """The older hours a run at `now` needs and the detector was not given yet."""
        days = range(1, self.policy.baseline_days + 1)
        if self.last_run is None:
            return [(now - d * DAY - self.policy.window, now - d * DAY) for d in days]
        # yesterday's hours come in as the recent cases age; earlier days are read as they move
        return [(self.last_run - d * DAY, now - d * DAY) for d in days if d > 1]

    def run(self, now: datetime, words: Collection[str] = ()) -> list[Finding]:
        """What is hot at `now` (see the module); `words` are the sensitive words."""
        self._age(now)
        policy = self.policy
        self.history.forget(now - policy.baseline_days * DAY - policy.window - timedelta(hours=1))
        found: list[Finding] = []
        days = self._days(now)
        if days >= policy.min_history_days:
            window = self._window(now)
            context = Context(policy, days)
            spans = [(now - d * DAY - policy.window, now - d * DAY) for d in range(1, days + 1)]
            found += self._topic_surges(window, spans, now, context)
            found += self._place_surges(window, spans, now, context)
        fresh = [self._signals[i] for i in sorted(self._fresh) if i in self._signals]
        found += repeat_findings(fresh, self._placed, policy, self.analyzer.words, now)
        wanted = frozenset(words)
        scan = fresh if wanted == self._words else list(self._signals.values())
        found += sensitive_findings(scan, wanted)
        self.history.seal()
        self._fresh.clear()
        self._words = wanted
        self.last_run = now
        return found

    def _signal(self, doc: CaseDoc) -> Signal:
        vector = self.analyzer.vector(doc.summary, doc.transcript, doc.category)
        places = places_in(doc.address) or places_in(f"{doc.summary} {doc.transcript}")
        names = tuple(dict.fromkeys(self._place_id(p.name) for p in places))
        return Signal(doc, vector, places, names)

    def _place_id(self, name: str) -> int:
        found = self._place_ids.get(name)
        if found is None:
            found = self._place_ids[name] = len(self._place_names)
            self._place_names.append(name)
        return found

    def _placed(self, name: int) -> Iterable[Signal]:
        return self._at_place.get(name, {}).values()

    def _unplace(self, signal: Signal | None) -> None:
        if signal is None:
            return
        for name in signal.names:
            group = self._at_place.get(name, {})
            group.pop(signal.doc.id, None)
            if not group:
                self._at_place.pop(name, None)

    def _seen(self, at: datetime) -> None:
        if self.since is None or at < self.since:
            self.since = at

    def _age(self, now: datetime) -> None:
        cut = bisect.bisect_right(self._order, ((now - DAY).timestamp(), math.inf))
        for _, case_id in self._order[:cut]:
            signal = self._signals.pop(case_id)
            self._unplace(signal)
            self.topics.remove(case_id)
            self.history.add(signal.doc.created_at, signal.vector, signal.names)
        del self._order[:cut]

    def _days(self, now: datetime) -> int:
        if self.since is None:
            return 0
        whole = (now - self.policy.window - self.since) // DAY
        return max(0, min(self.policy.baseline_days, whole))

    def _window(self, now: datetime) -> list[Signal]:
        start = bisect.bisect_right(self._order, ((now - self.policy.window).timestamp(), math.inf))
        end = bisect.bisect_right(self._order, (now.timestamp(), math.inf))
        return [self._signals[case_id] for _, case_id in self._order[start:end]]

    def _topic_surges(
        self, window: Sequence[Signal], spans: Sequence[Span], now: datetime, ctx: Context
    ) -> list[Finding]:
        policy, found = self.policy, []
        by_topic: dict[int, set[str]] = {}
        for signal in window:
            topic = self.topics.topic_of.get(signal.doc.id)
            if topic is not None:
                by_topic.setdefault(topic, set()).add(signal.doc.caller)
        shaped = [s for s in window if s.vector]
        rows: Rows | None = None  # made when a topic needs testing
        for topic_id, calling in sorted(by_topic.items()):
            if len(calling) < policy.min_topic_callers:
                continue
            middle = self.topics.topics[topic_id].centre()
            rows = rows or Rows.of([s.vector for s in shaped])
            scores = rows.scores(dense(middle, len(self.analyzer.terms)))
            matched = [shaped[i] for i in np.flatnonzero(scores >= policy.match_similarity)]
            past = functools.partial(
                self.history.count_like, middle, spans, policy.match_similarity
            )
            key = ("topic", topic_id)
            usual = self._surging(key, callers(matched), policy.min_topic_callers, now, past, ctx)
            if usual is not None:
                found.append(topic_finding(matched, self.analyzer.words(middle), usual, now, ctx))
        return _distinct(found)

    def _place_surges(
        self, window: Sequence[Signal], spans: Sequence[Span], now: datetime, ctx: Context
    ) -> list[Finding]:
        policy, found = self.policy, []
        at: dict[int, list[Signal]] = {}
        for signal in window:
            for name in signal.names:
                at.setdefault(name, []).append(signal)
        for name, matched in sorted(at.items()):
            if len(matched) < policy.min_place_callers:
                continue
            past = functools.partial(self.history.count_place, name, spans)
            key = ("place", name)
            usual = self._surging(key, callers(matched), policy.min_place_callers, now, past, ctx)
            if usual is not None:
                words = self.analyzer.words(centre(s.vector for s in matched))
                found.append(
                    place_finding(matched, self._place_names[name], words, usual, now, ctx)
                )
        return found

    def _surging(
        self,
        key: tuple[str, int],
        count: int,
        least: int,
        now: datetime,
        past: Callable[[], int],
        ctx: Context,
    ) -> float | None:
        """The usual level when `count` callers are a surge against it, else None."""
        policy = self.policy
        known = self._usual.get(key)
        recent = known is not None and now - known[0] <= USUAL_TTL
        # no surge even against a good deal less than lately: not worth counting again
        if recent and known and not is_surge(count, known[1] * NEAR, ctx.days, least, policy):
            return None
        if len(self._usual) > 50_000:  # topics come and go: drop what is out of date
            self._usual = {k: v for k, v in self._usual.items() if now - v[0] <= USUAL_TTL}
        usual = past() / ctx.days  # afresh for a decision: the morning rise moves it
        self._usual[key] = (now, usual)
        return usual if is_surge(count, usual, ctx.days, least, policy) else None


def _distinct(found: list[Finding]) -> list[Finding]:
    # two topics that matched mostly the same cases are one surge: keep the larger
    kept: list[Finding] = []
    for finding in sorted(found, key=lambda f: (-f.callers, f.key)):
        ids = set(finding.case_ids)
        if all(len(ids & set(k.case_ids)) * 2 < len(ids) for k in kept):
            kept.append(finding)
    return kept
