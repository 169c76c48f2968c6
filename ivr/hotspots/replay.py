"""The detector run over a stream of cases in memory: what the tests and the bench use.

`Episodes` applies the store's rule for raising an alert once (see `Finding`): a finding
that continues an episode already raised only adds its cases to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime, timedelta

from ivr.hotspots.detector import Detector
from ivr.hotspots.model import CaseDoc, Finding


@dataclasses.dataclass
class Episode:
    """An alert as the store would hold it: its first finding and every case since."""

    first: Finding
    raised_at: datetime
    case_ids: set[int]
    window_end: datetime


class Episodes:
    """Alerts raised once per episode, in memory."""

    def __init__(self) -> None:
        self.raised: list[Episode] = []

    def add(self, finding: Finding, now: datetime) -> bool:
        """Raise `finding` or add it to its episode; whether it was new."""
        for episode in reversed(self.raised):
            if _continues(episode, finding):
                episode.case_ids.update(finding.case_ids)
                episode.window_end = max(episode.window_end, finding.window_end)
                return False
        self.raised.append(Episode(finding, now, set(finding.case_ids), finding.window_end))
        return True


def _continues(episode: Episode, finding: Finding) -> bool:
    first = episode.first
    if first.kind != finding.kind:
        return False
    if finding.continues_after is None:
        return (first.key, first.window_start) == (finding.key, finding.window_start)
    if episode.window_end < finding.continues_after:
        return False
    return first.key == finding.key or not episode.case_ids.isdisjoint(finding.case_ids)


def replay(
    detector: Detector,
    cases: Sequence[CaseDoc],
    start: datetime,
    end: datetime,
    step: timedelta,
    *,
    words: Collection[str] = (),
    on_run: Callable[[datetime, list[Finding]], None] | None = None,
    episodes: Episodes | None = None,
) -> Episodes:
    """Run the detector every `step` from `start` to `end`, the cases arriving as they came
    (`cases` in time order); the alerts it would raise (added to `episodes` when given)."""
    episodes = episodes if episodes is not None else Episodes()
    pending = iter(cases)
    waiting = next(pending, None)
    for now in _ticks(start, end, step):
        arrived = []
        while waiting is not None and waiting.created_at <= now:
            arrived.append(waiting)
            waiting = next(pending, None)
        detector.observe(arrived)
        found = detector.run(now, words)
        for finding in found:
            episodes.add(finding, now)
        if on_run is not None:
            on_run(now, found)
    return episodes


def _ticks(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    now = start
    while now <= end:
        yield now
        now += step
