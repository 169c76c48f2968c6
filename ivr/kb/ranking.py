"""Ranking the articles in force for a question: Okapi BM25, computed here in Python, so
SQLite and PostgreSQL rank alike.

An index holds the term counts of the articles in force on its day; a search only looks up
the question's terms. Title terms count TITLE_WEIGHT times (a field weight in the manner of
BM25F): the article about 公积金提取 beats one that mentions it in passing. Document
frequencies and the average length are over the articles in force that day, so an index is
rebuilt when the day or any article changes (ivr.db.kb keeps one per process).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from ivr.kb.articles import Article

K1, B = 1.2, 0.75  # the usual BM25 saturation and length normalisation
TITLE_WEIGHT = 3
EXCERPT_CHARS = 80


@dataclasses.dataclass(frozen=True)
class Doc:
    """An article as the index holds it: its terms counted, the title's weighted."""

    article: Article
    counts: Mapping[str, int]
    length: int


def make_doc(article: Article, title_terms: Sequence[str]) -> Doc:
    """An article's entry, from its stored search words and its title's terms."""
    counts = Counter(article.search_words.split())
    for term in title_terms:
        counts[term] += TITLE_WEIGHT - 1  # the search words hold the title once already
    return Doc(article, counts, sum(counts.values()))


@dataclasses.dataclass(frozen=True)
class Hit:
    """An article that answers a question, how well, and the words it matched on."""

    article: Article
    score: float
    words: tuple[str, ...]


class Index:
    """The articles in force on `today`, ready to rank (read-only once built)."""

    def __init__(self, docs: Iterable[Doc], today: date) -> None:
        self.today = today
        self.docs = [doc for doc in docs if doc.article.in_force(today)]
        self._postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for position, doc in enumerate(self.docs):
            for term, count in doc.counts.items():
                self._postings[term].append((position, count))
        total = len(self.docs)
        self._average = sum(doc.length for doc in self.docs) / total if total else 1.0
        self._idf = {
            term: math.log(1 + (total - len(found) + 0.5) / (len(found) + 0.5))
            for term, found in self._postings.items()
        }

    def __len__(self) -> int:
        return len(self.docs)

    def search(self, query: Iterable[str], *, limit: int, min_share: float = 0.0) -> list[Hit]:
        """The articles sharing a term with the query, best first, none scoring under
        `min_share` of the best; equal scores in article order."""
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, list[str]] = defaultdict(list)
        for term in dict.fromkeys(query):  # a term said twice is one term
            for position, count in self._postings.get(term, ()):
                scores[position] += self._idf[term] * self._saturated(position, count)
                matched[position].append(term)
        if not scores:
            return []
        floor = min_share * max(scores.values())
        ranked = sorted(
            (p for p, score in scores.items() if score >= floor),
            key=lambda p: (-scores[p], self.docs[p].article.id),
        )
        return [
            Hit(self.docs[p].article, round(scores[p], 4), _widest(matched[p]))
            for p in ranked[:limit]
        ]

    def _saturated(self, position: int, count: int) -> float:
        length = self.docs[position].length / self._average
        return count * (K1 + 1) / (count + K1 * (1 - B + B * length))


def excerpt(text: str, words: Sequence[str], width: int = EXCERPT_CHARS) -> str:
    """A stretch of `text` around the first of `words` in it (its beginning when none is)."""
    lower = text.lower()
    found = [at for at in (lower.find(word) for word in words) if at >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    piece = " ".join(text[start : start + width].split())
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


def _widest(words: list[str]) -> tuple[str, ...]:
    # search mode matched 公积, 积金 and 公积金: marking 公积金 marks them all
    return tuple(w for w in words if not any(w != other and w in other for other in words))
