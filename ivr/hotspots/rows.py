"""Unit topic vectors as sparse rows in numpy arrays, and their cosines with a topic's centre.

A topic's count in a window or in the past is "how many of these rows are at least this
like its centre": a gather and a segmented sum over the rows' terms, instead of a Python
loop over dictionaries.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]


def dense(centre: Mapping[int, float], size: int) -> Scores:
    """A unit vector as a dense array over term ids 0 to size - 1 (larger ids add nothing)."""
    out = np.zeros(size, dtype=np.float32)
    for term, weight in centre.items():
        if term < size:
            out[term] = weight
    return out


@dataclasses.dataclass(frozen=True)
class Rows:
    """Unit vectors as sparse rows: every row has at least one term."""

    lengths: Ints
    terms: npt.NDArray[np.int32]
    weights: Scores
    starts: Ints  # where each row's terms begin

    @classmethod
    def of(cls, vectors: Sequence[Mapping[int, float]]) -> Rows:
        """The rows of non-empty vectors."""
        lengths = np.fromiter((len(v) for v in vectors), dtype=np.int64, count=len(vectors))
        total = int(lengths.sum())
        terms = np.fromiter(itertools.chain.from_iterable(vectors), np.int32, total)
        weights = np.fromiter(
            itertools.chain.from_iterable(v.values() for v in vectors), np.float32, total
        )
        return cls(lengths, terms, weights, np.cumsum(lengths) - lengths)

    @classmethod
    def none(cls) -> Rows:
        """No rows."""
        return cls.of([])

    def joined(self, other: Rows) -> Rows:
        """These rows, then the other's."""
        lengths = np.concatenate((self.lengths, other.lengths))
        return Rows(
            lengths,
            np.concatenate((self.terms, other.terms)),
            np.concatenate((self.weights, other.weights)),
            np.cumsum(lengths) - lengths,
        )

    def scores(self, centre: Scores) -> Scores:
        """Each row's cosine with a dense unit vector (`dense`) covering all its terms."""
        if not len(self.lengths):
            return np.zeros(0, dtype=np.float32)
        return np.add.reduceat(centre[self.terms] * self.weights, self.starts)

    def taken(self, order: Ints) -> Rows:
        """The rows in another order (or some of them)."""
        lengths = self.lengths[order]
        entries = np.repeat(self.starts[order] - (np.cumsum(lengths) - lengths), lengths)
        entries += np.arange(int(lengths.sum()))
        return Rows(
            lengths, self.terms[entries], self.weights[entries], np.cumsum(lengths) - lengths
        )

    def scores_between(self, first: int, last: int, centre: Scores) -> Scores:
        """The cosines of rows first to last - 1 only."""
        if first >= last:
            return np.zeros(0, dtype=np.float32)
        begin = int(self.starts[first])
        end = int(self.starts[last - 1] + self.lengths[last - 1])
        products = centre[self.terms[begin:end]] * self.weights[begin:end]
        return np.add.reduceat(products, self.starts[first:last] - begin)
