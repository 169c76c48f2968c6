"""The older cases, kept compact for the usual level of a topic or a place.

A month of a large city's cases (≈ 600,000) must fit in memory and be counted in
milliseconds, so cases are kept per hour in numpy arrays, in time order: their times, their
topic vectors as sparse rows (ivr.hotspots.rows) and their places. "How many cases between
these times were at least this like that topic" is then, for each hour touched, a slice of
the rows by time, a gather and a segmented sum. Cases arrive as plain lists and are
folded into their hour's arrays when the hour is next counted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import numpy as np

from ivr.hotspots.rows import Ints, Rows, Scores, dense

HOUR = 3600
Span = tuple[datetime, datetime]  # [start, end)


def _no_ints() -> Ints:
    return np.zeros(0, np.int64)


@dataclasses.dataclass
class _Hour:
    """One hour's cases: arrays, and the cases added since they were made."""

    rows: Rows = dataclasses.field(default_factory=Rows.none)
    times: Ints = dataclasses.field(default_factory=_no_ints)  # each row's, in epoch seconds
    place_times: Ints = dataclasses.field(default_factory=_no_ints)
    places: Ints = dataclasses.field(default_factory=_no_ints)
    new_times: list[int] = dataclasses.field(default_factory=list)
    new_vectors: list[Mapping[int, float]] = dataclasses.field(default_factory=list)
    new_places: list[tuple[int, int]] = dataclasses.field(default_factory=list)

    def sealed(self) -> _Hour:
        if self.new_vectors:
            rows = self.rows.joined(Rows.of(self.new_vectors))
            times = np.concatenate((self.times, np.asarray(self.new_times, np.int64)))
            order = np.argsort(times, kind="stable")  # cases may come out of time order
            self.rows, self.times = rows.taken(order), times[order]
            self.new_vectors, self.new_times = [], []
        if self.new_places:
            at, names = zip(*self.new_places, strict=True)
            times = np.concatenate((self.place_times, np.asarray(at, np.int64)))
            order = np.argsort(times, kind="stable")
            places = np.concatenate((self.places, np.asarray(names, np.int64)))
            self.place_times, self.places = times[order], places[order]
            self.new_places = []
        return self

    def like(self, full: Scores, start: int, end: int, least: float) -> int:
        """How many rows within [start, end) are at least `least` like the centre."""
        first, last = np.searchsorted(self.times, (start, end))
        scores = self.rows.scores_between(int(first), int(last), full)
        return int(np.count_nonzero(scores >= least))

    def at(self, place: int, start: int, end: int) -> int:
        """How many cases within [start, end) name the place."""
        first, last = np.searchsorted(self.place_times, (start, end))
        return int(np.count_nonzero(self.places[first:last] == place))


class History:
    """Older cases by the hour: counts of those like a topic, or at a place, in time spans."""

    def __init__(self) -> None:
        self._hours: dict[int, _Hour] = {}
        self.size = 0  # cases with a topic vector
        self.vocabulary = 0  # one more than the largest term id seen

    def add(self, at: datetime, vector: Mapping[int, float], places: Iterable[int]) -> None:
        """Keep a case: when it came, its topic vector and the ids of the places it names."""
        second = int(at.timestamp())
        hour = self._hours.get(second // HOUR)
        if hour is None:
            hour = self._hours[second // HOUR] = _Hour()
        if vector:
            hour.new_times.append(second)
            hour.new_vectors.append(vector)
            self.vocabulary = max(self.vocabulary, max(vector) + 1)
            self.size += 1
        hour.new_places.extend((second, place) for place in places)

    def forget(self, before: datetime) -> None:
        """Drop the hours wholly before `before`."""
        first = int(before.timestamp()) // HOUR
        for hour in [h for h in self._hours if h < first]:
            self.size -= len(self._hours.pop(hour).sealed().times)

    def seal(self) -> None:
        """Fold every hour's new cases into its arrays (the lists take ten times the memory)."""
        for hour in self._hours.values():
            hour.sealed()

    def count_like(self, centre: Mapping[int, float], spans: Sequence[Span], least: float) -> int:
        """How many cases within `spans` are at least `least` like the unit vector `centre`."""
        full = dense(centre, self.vocabulary)
        return sum(hour.like(full, start, end, least) for hour, start, end in self._touched(spans))

    def count_place(self, place: int, spans: Sequence[Span]) -> int:
        """How many cases within `spans` name the place `place`."""
        return sum(hour.at(place, start, end) for hour, start, end in self._touched(spans))

    def _touched(self, spans: Sequence[Span]) -> Iterable[tuple[_Hour, int, int]]:
        for first, last in spans:
            start, end = int(first.timestamp()), int(last.timestamp())
            for hour in range(start // HOUR, (end - 1) // HOUR + 1):
                found = self._hours.get(hour)
                if found is not None:
                    yield found.sealed(), start, end
