"""The hotline office's taxonomy: categories, departments, keywords and priority rules.

It lives in ivr/cases/taxonomy.toml, is validated when loaded (any problem is a
`ConfigError` naming it), and carries its own jieba tokenizer that knows its words.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jieba

from ivr.errors import ConfigError

DEFAULT_TAXONOMY_PATH = Path(__file__).with_name("taxonomy.toml")
# Whitespace next to a CJK character is an ASR artifact (vosk puts spaces between words).
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff])\s+|\s+(?=[\u3400-\u9fff])")
# Ranked low to high; the rest of the system (deadlines, queues) knows these three codes.
PRIORITY_CODES = ("normal", "important", "urgent")


@dataclass(frozen=True)
class Route:
    """A sub-department that takes a category's cases when one of its keywords is heard."""

    department: str
    keywords: frozenset[str]


@dataclass(frozen=True)
class Category:
    """One kind of citizen request and the department that handles it by default."""

    code: str
    name: str
    department: str
    keywords: Mapping[str, float]
    routes: tuple[Route, ...] = ()


@dataclass(frozen=True)
class PriorityRule:
    """What makes a case a given priority: trigger words, regex patterns, repeat calls."""

    code: str
    label: str
    keywords: frozenset[str] = frozenset()
    patterns: tuple[re.Pattern[str], ...] = ()
    repeat_caller: bool = False


@dataclass(frozen=True)
class Taxonomy:
    """A validated taxonomy plus a tokenizer that segments its keywords as single words."""

    categories: tuple[Category, ...]
    fallback: str
    priorities: Mapping[str, PriorityRule]
    negations: frozenset[str]
    vocabulary: frozenset[str] = field(repr=False)
    tokenizer: Any = field(repr=False, compare=False)

    def category(self, code: str) -> Category:
        """The category with this code (KeyError when unknown)."""
        for category in self.categories:
            if category.code == code:
                return category
        raise KeyError(code)

    def tokens(self, text: str) -> list[str]:
        """Segment text with this taxonomy's dictionary, dropping whitespace tokens."""
        words = self.tokenizer.lcut(normalize_text(text), HMM=False)
        return [word for word in words if word.strip()]

    def inner_keywords(self, token: str) -> list[str]:
        """Keywords inside a longer word that is not a keyword itself (学校食堂 → 学校)."""
        if token in self.vocabulary:
            return []
        spans = (token[i:j] for i in range(len(token)) for j in range(i + 2, len(token) + 1))
        return [span for span in spans if span != token and span in self.vocabulary]


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy file (the bundled one by default); cached per file version."""
    path = (path or DEFAULT_TAXONOMY_PATH).resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read taxonomy {path}: {exc}") from exc
    return _load(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int, size: int) -> Taxonomy:
    # mtime and size are part of the cache key so an edited file is read again.
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read taxonomy {path}: {exc}") from exc
    try:
        return parse_taxonomy(raw)
    except ConfigError as exc:
        raise ConfigError(f"taxonomy {path}: {exc}") from exc


def parse_taxonomy(raw: Mapping[str, Any]) -> Taxonomy:
    """Validate an already-parsed taxonomy document and build its tokenizer."""
    categories = _categories(raw.get("category"))
    fallback = _text(raw, "fallback", "the top level")
    if fallback not in {c.code for c in categories}:
        raise ConfigError(f"fallback category {fallback!r} is not defined")
    priorities = _priorities(raw.get("priority"))
    negations = frozenset(_words(raw, "negations", "the top level"))
    words = {w for c in categories for w in c.keywords}
    words |= {w for c in categories for r in c.routes for w in r.keywords}
    words |= {w for rule in priorities.values() for w in rule.keywords}
    vocabulary = frozenset(words)
    tokenizer = _tokenizer_with(vocabulary)
    return Taxonomy(categories, fallback, priorities, negations, vocabulary, tokenizer)


def _categories(raw: object) -> tuple[Category, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("no [[category]] tables")
    categories: list[Category] = []
    for index, table in enumerate(raw, 1):
        category = _category(table, f"category #{index}")
        if any(c.code == category.code for c in categories):
            raise ConfigError(f"duplicate category code {category.code!r}")
        categories.append(category)
    return tuple(categories)


def _category(table: object, where: str) -> Category:
    table = _table(table, where)
    code = _text(table, "code", where)
    where = f"category {code!r}"
    if not re.fullmatch(r"[a-z][a-z_]*", code):
        raise ConfigError(f"{where}: code must be lower-case letters and underscores")
    routes = tuple(_route(r, f"{where} route #{i}") for i, r in enumerate(_list(table, "route"), 1))
    return Category(
        code=code,
        name=_text(table, "name", where),
        department=_text(table, "department", where),
        keywords=_weights(table.get("keywords"), where),
        routes=routes,
    )


def _route(table: object, where: str) -> Route:
    table = _table(table, where)
    return Route(_text(table, "department", where), frozenset(_words(table, "keywords", where)))


def _weights(raw: object, where: str) -> dict[str, float]:
    table = _table(raw, f"{where} keywords")
    if not table:
        raise ConfigError(f"{where}: no keywords")
    weights: dict[str, float] = {}
    for word, weight in table.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise ConfigError(f"{where}: keyword {word!r} needs a positive number, got {weight!r}")
        weights[word.strip()] = float(weight)
    return weights


def _priorities(raw: object) -> dict[str, PriorityRule]:
    table = _table(raw, "[priority]")
    unknown = sorted(set(table) - set(PRIORITY_CODES))
    if unknown:
        known = ", ".join(PRIORITY_CODES)
        raise ConfigError(f"unknown priority code {unknown[0]!r} (expected one of {known})")
    missing = [code for code in PRIORITY_CODES if code not in table]
    if missing:
        raise ConfigError(f"priority {missing[0]!r} is not defined")
    return {code: _priority(code, table[code]) for code in PRIORITY_CODES}


def _priority(code: str, raw: object) -> PriorityRule:
    where = f"priority {code!r}"
    table = _table(raw, where)
    repeat = table.get("repeat_caller", False)
    if not isinstance(repeat, bool):
        raise ConfigError(f"{where}: repeat_caller must be true or false")
    return PriorityRule(
        code=code,
        label=_text(table, "label", where),
        keywords=frozenset(_words(table, "keywords", where)),
        patterns=tuple(_pattern(p, where) for p in _words(table, "patterns", where)),
        repeat_caller=repeat,
    )


def _pattern(source: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(source)
    except re.error as exc:
        raise ConfigError(f"{where}: bad pattern {source!r}: {exc}") from exc


def _table(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    return raw


def _list(table: Mapping[str, Any], key: str) -> list[Any]:
    value = table.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be an array of tables")
    return value


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} has no {key}")
    return value.strip()


def _words(table: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {key} must be a list of non-empty strings")
    return [v.strip() for v in value]


def normalize_text(text: str) -> str:
    """Join words an ASR split with spaces and collapse the remaining whitespace."""
    return " ".join(_CJK_SPACE.sub("", text).split())


@functools.cache
def base_tokenizer() -> Any:
    """jieba's default dictionary, built once per process (it takes about a second)."""
    # jieba announces every dictionary load on stderr; the IVR's logs are structlog's.
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _tokenizer_with(words: Iterable[str]) -> Any:
    base = base_tokenizer()
    # A private copy of the prefix dict (~20 ms) keeps each taxonomy's words out of every
    # other tokenizer, so a classification depends only on the taxonomy it is given.
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(base.FREQ)
    tokenizer.total = base.total
    tokenizer.initialized = True
    for word in sorted(set(words)):
        if len(word) > 1:
            tokenizer.add_word(word)
    return tokenizer
