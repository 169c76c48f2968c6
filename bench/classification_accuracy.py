"""Category and priority accuracy of the case classifier on tests/data/classification_eval.tsv.

Run: .venv/bin/python bench/classification_accuracy.py [--errors] [--taxonomy PATH]
Dev and held-out rows are reported separately; tune keywords on dev only.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ivr.cases.classify import classify
from ivr.cases.taxonomy import Taxonomy, load_taxonomy

EVAL_FILE = Path(__file__).resolve().parent.parent / "tests" / "data" / "classification_eval.tsv"


@dataclass(frozen=True)
class Example:
    """One labelled request from the evaluation file."""

    text: str
    category: str
    priority: str
    split: str


@dataclass(frozen=True)
class Outcome:
    """An example next to what the classifier said."""

    example: Example
    category: str
    priority: str


def read_examples(path: Path = EVAL_FILE) -> list[Example]:
    """Rows of the evaluation TSV (text, category, priority, split)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [Example(r["text"], r["category"], r["priority"], r["split"]) for r in rows]


def evaluate(examples: Sequence[Example], taxonomy: Taxonomy) -> list[Outcome]:
    """Classify every example."""
    outcomes = []
    for example in examples:
        result = classify(example.text, taxonomy)
        outcomes.append(Outcome(example, result.category.code, result.priority.code))
    return outcomes


def accuracy(outcomes: Sequence[Outcome], split: str) -> tuple[float, float, int]:
    """Category accuracy, priority accuracy and row count for one split."""
    rows = [o for o in outcomes if o.example.split == split]
    if not rows:
        return 0.0, 0.0, 0
    category = sum(o.category == o.example.category for o in rows) / len(rows)
    priority = sum(o.priority == o.example.priority for o in rows) / len(rows)
    return category, priority, len(rows)


def _report(outcomes: Sequence[Outcome], show_errors: bool) -> None:
    for split in ("dev", "heldout"):
        category, priority, n = accuracy(outcomes, split)
        print(f"{split:8} n={n:3}  category {category:6.1%}  priority {priority:6.1%}")
    for split in ("dev", "heldout"):
        rows = [o for o in outcomes if o.example.split == split]
        confusions = Counter(
            (o.example.category, o.category) for o in rows if o.category != o.example.category
        )
        priorities = Counter(
            (o.example.priority, o.priority) for o in rows if o.priority != o.example.priority
        )
        print(f"\n{split} confusions (expected -> got: count)")
        for (want, got), count in confusions.most_common():
            print(f"  category {want} -> {got}: {count}")
        for (want, got), count in priorities.most_common():
            print(f"  priority {want} -> {got}: {count}")
    if show_errors:
        print("\ndev errors")
        for o in outcomes:
            e = o.example
            if e.split == "dev" and (o.category, o.priority) != (e.category, e.priority):
                print(f"  {e.category}/{e.priority} -> {o.category}/{o.priority}  {e.text}")


def main(argv: Sequence[str] | None = None) -> int:
    """Print accuracies on dev and held-out plus a confusion summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--taxonomy", type=Path, default=None)
    parser.add_argument("--errors", action="store_true", help="list dev rows it gets wrong")
    args = parser.parse_args(argv)
    _report(evaluate(read_examples(), load_taxonomy(args.taxonomy)), args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
