"""What the detector is told (its policy), reads (a case) and holds (a signal), and says
(a finding)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from ivr.cases.places import Place
from ivr.db.insight_models import AlertKind
from ivr.hotspots.signature import Vector

DAY = timedelta(days=1)


@dataclasses.dataclass(frozen=True)
class HotspotPolicy:
    """The detector's thresholds (defaults until they become settings)."""

    window: timedelta = timedelta(hours=2)  # "within hours": the recent window tested
    baseline_days: int = 28  # the usual level: the same hours on each of these days
    min_history_days: int = 3  # no surge alerts before this much history (a new install)
    # a topic: a case joins the most similar topic at or above `join_similarity`; a topic's
    # count (now and in the past) is the cases at least `match_similarity` like its centre
    join_similarity: float = 0.42
    match_similarity: float = 0.38
    min_topic_callers: int = 10  # a quiet topic going from 0 to 2 is no surge
    min_place_callers: int = 8
    surge_ratio: float = 3.0  # "well above": at least this many times the usual count
    p_value: float = 1e-5  # and this unlikely at the usual rate (ivr.hotspots.surges)
    usual_floor: float = 0.5  # the ratio never compares with less than this
    repeat_callers: int = 3  # one issue at one place from this many callers within a day
    repeat_similarity: float = 0.42
    same_place: float = 0.5  # ivr.cases.places.place_similarity for "the same place"

    def __post_init__(self) -> None:
        if not timedelta(minutes=10) <= self.window <= timedelta(hours=12):
            raise ValueError(f"window {self.window} is not between 10 minutes and 12 hours")
        if self.baseline_days < 1 or not 0 <= self.min_history_days <= self.baseline_days:
            raise ValueError("baseline_days must be ≥ 1 and min_history_days within it")
        if not 0 < self.match_similarity <= 1 or not 0 < self.join_similarity <= 1:
            raise ValueError("similarities must be in (0, 1]")


@dataclasses.dataclass(frozen=True)
class CaseDoc:
    """What detection reads of a case."""

    id: int
    created_at: datetime
    caller: str
    category: str
    summary: str
    transcript: str
    address: str | None = None
    department: str = ""
    version: int = 1


@dataclasses.dataclass(frozen=True)
class Signal:
    """A recent case as the detector holds it: the case, its topic vector, its places."""

    doc: CaseDoc
    vector: Vector
    places: tuple[Place, ...]
    names: tuple[int, ...]  # ids of its places' names (street or community)


@dataclasses.dataclass(frozen=True)
class Finding:
    """An alert the detector would raise now, with the cases behind it.

    An alert already stored of the same kind, on the same key or sharing a case, whose
    window ends at or after `continues_after` is the same episode: the store adds the new
    cases to it instead of raising another (None: only the same key and window_start).
    """

    kind: AlertKind
    key: str
    title: str
    window_start: datetime
    window_end: datetime
    case_ids: tuple[int, ...]
    callers: int
    baseline: float | None
    details: dict[str, Any]
    continues_after: datetime | None
