"""Topics: the recent cases clustered incrementally by their topic vectors.

A case joins the topic whose centre is most like it, when that is at least the join
similarity; otherwise it starts a topic of its own. A topic is the sum of its members'
vectors (its centre is that sum made unit length), so a case leaves a topic as cheaply as
it joins one: when it ages out of the recent day, or when its text changed (the
transcript arrived, the agent wrote the summary) and it joins again. Topics are found
through an index of their centres' heaviest terms, so a case is only compared with the
few topics whose main terms are among its own.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections import Counter
from collections.abc import Iterator, Mapping

from ivr.hotspots.signature import Vector

LOOKUP_TERMS = 8  # a case looks for topics through its heaviest terms...
TOPIC_TERMS = 6  # ...among the heaviest terms of each topic's centre


@dataclasses.dataclass
class Topic:
    """A cluster of cases: the sum of their vectors and who they are."""

    id: int
    total: dict[int, float] = dataclasses.field(default_factory=dict)
    square: float = 0.0  # |total|², kept as members come and go
    members: set[int] = dataclasses.field(default_factory=set)
    uses: Counter[int] = dataclasses.field(default_factory=Counter)  # term → members using it
    main: frozenset[int] = frozenset()  # the heaviest terms of the centre, as indexed

    def centre(self) -> Vector:
        """The unit vector of the topic."""
        norm = math.sqrt(self.square) if self.square > 0 else 0.0
        return {t: w / norm for t, w in self.total.items()} if norm else {}

    def likeness(self, vector: Mapping[int, float]) -> float:
        """The cosine between a unit vector and this topic's centre."""
        if self.square <= 0:
            return 0.0
        return sum(w * self.total.get(t, 0.0) for t, w in vector.items()) / math.sqrt(self.square)


class TopicIndex:
    """The recent cases' topics; each case is in at most one."""

    def __init__(self, join_similarity: float) -> None:
        self.join_similarity = join_similarity
        self.topics: dict[int, Topic] = {}
        self.topic_of: dict[int, int] = {}  # case id → topic id
        self._vectors: dict[int, Vector] = {}
        self._by_term: dict[int, set[int]] = {}  # term → topics it is a main term of
        self._next = 1

    def add(self, case_id: int, vector: Vector) -> int | None:
        """File a case (again, if it was filed before); its topic, None for an empty vector."""
        self.remove(case_id)
        if not vector:
            return None
        topic = self._best(vector) or self._new()
        self._join(topic, case_id, vector)
        return topic.id

    def remove(self, case_id: int) -> None:
        """Take a case out of its topic (a topic left empty goes)."""
        topic_id = self.topic_of.pop(case_id, None)
        if topic_id is None:
            return
        vector = self._vectors.pop(case_id)
        topic = self.topics[topic_id]
        dot = sum(w * topic.total.get(t, 0.0) for t, w in vector.items())
        topic.square = max(0.0, topic.square - 2 * dot + 1.0)
        topic.members.discard(case_id)
        for term, weight in vector.items():
            topic.total[term] -= weight
            topic.uses[term] -= 1
            if not topic.uses[term]:
                del topic.uses[term], topic.total[term]
        if topic.members:
            self._index(topic)
        else:
            self._index(topic, frozenset())
            del self.topics[topic_id]

    def vector(self, case_id: int) -> Vector:
        """The vector a case was filed with."""
        return self._vectors[case_id]

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics.values())

    def _best(self, vector: Vector) -> Topic | None:
        heaviest = heapq.nlargest(LOOKUP_TERMS, vector, key=vector.__getitem__)
        near = {topic for term in heaviest for topic in self._by_term.get(term, ())}
        best, best_score = None, self.join_similarity
        for topic_id in sorted(near):  # in id order: the same input files the same way
            score = self.topics[topic_id].likeness(vector)
            if score >= best_score:
                best, best_score = self.topics[topic_id], score
        return best

    def _new(self) -> Topic:
        topic = self.topics[self._next] = Topic(self._next)
        self._next += 1
        return topic

    def _join(self, topic: Topic, case_id: int, vector: Vector) -> None:
        dot = sum(w * topic.total.get(t, 0.0) for t, w in vector.items())
        topic.square += 2 * dot + 1.0
        topic.members.add(case_id)
        for term, weight in vector.items():
            topic.total[term] = topic.total.get(term, 0.0) + weight
            topic.uses[term] += 1
        self._index(topic)
        self.topic_of[case_id] = topic.id
        self._vectors[case_id] = vector

    def _index(self, topic: Topic, main: frozenset[int] | None = None) -> None:
        if main is None:
            total = topic.total
            main = frozenset(heapq.nlargest(TOPIC_TERMS, total, key=total.__getitem__))
        for term in topic.main - main:
            self._by_term[term].discard(topic.id)
            if not self._by_term[term]:
                del self._by_term[term]
        for term in main - topic.main:
            self._by_term.setdefault(term, set()).add(topic.id)
        topic.main = main
