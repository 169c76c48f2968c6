"""Classify a transcript or typed request: category, department and priority.

Pure: the result depends only on the text, the taxonomy and the repeat-caller flag.
Categories are scored by the jieba tokens of the text, so a keyword counts only when
it is a word of the sentence, not when its characters happen to be adjacent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ivr.cases.taxonomy import Category, PriorityRule, Route, Taxonomy, normalize_text


@dataclass(frozen=True)
class Classification:
    """Where a request goes and how fast, with the words that decided it."""

    category: Category
    department: str
    priority: PriorityRule
    matched_keywords: tuple[str, ...]


def classify(text: str, taxonomy: Taxonomy, *, repeat_caller: bool = False) -> Classification:
    """Classify one request by its segmented words under the given taxonomy."""
    tokens = taxonomy.tokens(text)
    category, category_words = best_category(words_of(tokens, taxonomy), taxonomy)
    priority, priority_words = priority_of(tokens, text, taxonomy, repeat_caller=repeat_caller)
    return Classification(
        category=category,
        department=_department(category, tokens),
        priority=priority,
        matched_keywords=tuple(dict.fromkeys((*category_words, *priority_words))),
    )


def words_of(tokens: Sequence[str], taxonomy: Taxonomy) -> list[str]:
    """The tokens, each followed by any keywords inside it (学校食堂 → 学校食堂, 学校)."""
    # jieba keeps dictionary compounds whole, so a keyword would be lost inside them.
    return [word for token in tokens for word in (token, *taxonomy.inner_keywords(token))]


def category_scores(tokens: Sequence[str], taxonomy: Taxonomy) -> dict[str, float]:
    """Each category's score: the summed weights of its distinct keywords among the tokens."""
    present = set(tokens)
    return {
        c.code: sum(w for word, w in c.keywords.items() if word in present)
        for c in taxonomy.categories
    }


def best_category(tokens: Sequence[str], taxonomy: Taxonomy) -> tuple[Category, list[str]]:
    """The winning category and its keywords in the order they were said."""
    scores = category_scores(tokens, taxonomy)

    def rank(index_category: tuple[int, Category]) -> tuple[float, float, int]:
        index, category = index_category
        strongest = max((category.keywords.get(t, 0.0) for t in tokens), default=0.0)
        # Ties go to the category with the most telling single word, then to file order.
        return scores[category.code], strongest, -index

    _, winner = max(enumerate(taxonomy.categories), key=rank)
    if scores[winner.code] <= 0:
        winner = taxonomy.category(taxonomy.fallback)
    return winner, list(dict.fromkeys(t for t in tokens if t in winner.keywords))


def priority_of(
    tokens: Sequence[str], text: str, taxonomy: Taxonomy, *, repeat_caller: bool = False
) -> tuple[PriorityRule, list[str]]:
    """The highest priority whose rule fires, with the words or phrases that fired it."""
    text = normalize_text(text)
    for code in ("urgent", "important"):
        rule = taxonomy.priorities[code]
        hits = _rule_hits(rule, tokens, text, taxonomy.negations)
        if hits or (rule.repeat_caller and repeat_caller):
            return rule, hits
    return taxonomy.priorities["normal"], []


def _rule_hits(
    rule: PriorityRule, tokens: Sequence[str], text: str, negations: frozenset[str]
) -> list[str]:
    # Negation only matters here: "没有着火" must not raise an alarm, whereas for the
    # category "停水" and "不来水" are the same topic.
    hits = [
        token
        for i, token in enumerate(tokens)
        if token in rule.keywords and (i == 0 or tokens[i - 1] not in negations)
    ]
    hits += [m.group(0) for pattern in rule.patterns for m in pattern.finditer(text)]
    return list(dict.fromkeys(hits))


def _department(category: Category, tokens: Sequence[str]) -> str:
    present = set(tokens)

    def hits(route: Route) -> int:
        return len(route.keywords & present)

    routes = [r for r in category.routes if hits(r) > 0]
    if not routes:
        return category.department
    return max(routes, key=hits).department
