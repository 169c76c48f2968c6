"""One issue at one place from several callers within a day (多人反映同一问题).

Two recent cases are about the same issue at the same place when their places are the same
(ivr.cases.places.place_similarity: one street and door, or doors a few apart, or a door
and its street) and their topic vectors are alike. A new case and the recent cases like it
in both ways form its group (not their neighbours' neighbours: along a busy road, links
would chain door to door); a group of `repeat_callers` or more distinct callers is a
finding. A caller who rings three times is one caller, not a repeat.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from ivr.cases.places import Place, place_similarity
from ivr.db.insight_models import AlertKind
from ivr.hotspots.model import Finding, HotspotPolicy, Signal
from ivr.hotspots.signature import Vector, centre, cosine

Words = Callable[[Vector], list[str]]
AtPlace = Callable[[int], Iterable[Signal]]  # the recent cases naming a place


def repeat_findings(
    fresh: Iterable[Signal],
    at_place: AtPlace,
    policy: HotspotPolicy,
    words: Words,
    now: datetime,
) -> list[Finding]:
    """The groups the `fresh` cases belong to that have enough callers (each group once)."""
    found: dict[frozenset[int], Finding] = {}
    for signal in fresh:
        if not signal.places or not signal.vector:
            continue
        group = _group(signal, at_place, policy)
        ids = frozenset(s.doc.id for s in group)
        if ids in found or len({s.doc.caller for s in group}) < policy.repeat_callers:
            continue
        found[ids] = _finding(group, policy, words, now)
    return list(found.values())


def _group(start: Signal, at_place: AtPlace, policy: HotspotPolicy) -> list[Signal]:
    group = {start.doc.id: start}
    for name in start.names:
        for other in at_place(name):
            if other.doc.id not in group and _same_issue(start, other, policy):
                group[other.doc.id] = other
    return sorted(group.values(), key=lambda s: (s.doc.created_at, s.doc.id))


def _same_issue(one: Signal, other: Signal, policy: HotspotPolicy) -> bool:
    if not other.vector:
        return False
    place, _ = place_similarity(one.places, other.places)
    return (
        place >= policy.same_place and cosine(one.vector, other.vector) >= policy.repeat_similarity
    )


def _finding(group: list[Signal], policy: HotspotPolicy, words: Words, now: datetime) -> Finding:
    spot = str(_spot(group))
    topic = words(centre(s.vector for s in group))
    count = len({s.doc.caller for s in group})
    label = "、".join(topic)
    return Finding(
        kind=AlertKind.REPEAT,
        key=f"{spot}：{label}"[:200],
        title=f"{spot} {label}（{count}位来电人）"[:200],
        window_start=group[0].doc.created_at,
        window_end=now,
        case_ids=tuple(s.doc.id for s in group),
        callers=count,
        baseline=None,
        details={"place": spot, "words": topic, "callers": count},
        continues_after=group[0].doc.created_at - policy.window,
    )


def _spot(group: list[Signal]) -> Place:
    # the place most of the group name, with a door number when they give one
    counts = Counter(place for s in group for place in s.places)
    return max(counts, key=lambda p: (counts[p], p.number is not None, str(p)))
