"""A case's topic signature: what its summary and transcript are about, as a term vector.

The terms are the jieba words of the text (the taxonomy's tokenizer, which knows the
hotline's own words), places, numbers, counted things (三天, 两次) and callers' filler
(你好, 反映) left out; each word's characters as weaker terms, so 食盐, 碘盐 and 盐 meet;
a concept for each of the equivalent phrasings it uses (坏了 / 不亮 → 故障, 抢光 / 买不到
→ 缺货: ivr.cases.similarity's table and a few of our own); and its category.

A term weighs (1 + ln count) × its IDF in jieba's general-language table, so a rare word
(碘盐) says more than a common one (晚上); the summary counts twice, as in the duplicate
suggestions. Vectors have unit length and keep their `TOP_TERMS` heaviest terms: two cases
are as alike as the cosine of their vectors. The weights are fixed (no corpus statistics),
so a vector never changes once made and every process makes the same one.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import jieba

from ivr.cases.places import place_spans
from ivr.cases.similarity import CONCEPTS
from ivr.cases.taxonomy import Taxonomy, load_taxonomy, normalize_text

Vector = dict[int, float]  # term id → weight, unit length
Counted = dict[str, tuple[int, float]]  # term → (count, IDF)
TOP_TERMS = 24
CUT_CACHE = 100_000  # texts whose words are kept
SUMMARY_WEIGHT = 2
CHAR_FACTOR = 0.5  # a word's characters, against the word itself
CONCEPT_IDF = 9.0
CATEGORY_IDF = 4.0
CONCEPT_MARK, CATEGORY_MARK = "#", "@"
# Supply and price phrasings (the 专报 classic: a rush on salt), besides similarity's.
TOPIC_CONCEPTS = {
    "缺货": ("缺货", "断货", "没货", "脱销", "买不到", "抢光", "卖光", "售罄", "卖完", "空了"),
    "抢购": ("抢购", "囤", "哄抢", "排长队", "排队买", "一箱一箱"),
    "涨价": ("涨价", "哄抬", "价格上涨", "贵了", "加价"),
    "欠薪": ("欠薪", "拖欠工资", "不发工资", "讨薪", "工资没发"),
}
_CONCEPTS = {
    label: re.compile("|".join(map(re.escape, words)))
    for label, words in {**CONCEPTS, **TOPIC_CONCEPTS}.items()
}
# Words callers say whatever the problem is (a word list reads better unquoted).
STOP_WORDS = frozenset(
    """你好 您好 喂 谢谢 谢谢你 麻烦 麻烦你 咨询 我要 我想 想要 反映 反应 投诉 举报 希望 尽快 赶紧
    处理 解决 一下 问题 情况 现在 已经 一直 好几 好几天 几天 市民 来电 热线 有关 相关 部门
    政府 帮忙 那边 这边 附近 门口 旁边 一个 这个 那个 什么 怎么 还是 但是 因为 所以 非常 特别
    我们 你们 他们 大家 就是 然后 可以 没有 知道 请问 这样 那样 觉得 时候 今天 昨天 最近 每天
    一些 有点 有人 东西 地方 这里 那里 里面 外面 真的 到底 是不是 能不能 怎么办 看看 管管
    派人 人来 过来 一次 电话 打电话 说 问 听说 感觉 应该 需要 不知道 是否 还有 都是 一样 多少
    """.split()  # noqa: SIM905
)
# Characters that are grammar or filler as words of their own, or inside longer words (不
# too: the phrasings that carry it, 不亮 or 不通, are concepts).
_STOP_CHARS = frozenset(
    "的了是在有和与及我你他她它们这那就都也还又很太吧呢啊吗呀哦嗯请您说个条被把给让要会能去来到上下里想问不"
)
_COUNTED = re.compile(
    "[0-9零〇一二两三四五六七八九十百千万几好多半每]+"
    "[天次个号点年月日楼层栋遍回周岁块元斤袋分钟小时户家人]*"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


@functools.cache
def idf_table() -> tuple[Mapping[str, float], float]:
    """jieba's IDF table (word → idf) and its median, for words it does not list."""
    path = Path(jieba.__file__).with_name("analyse") / "idf.txt"
    table: dict[str, float] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, value = line.strip().partition(" ")
            if value:
                table[word] = float(value)
    ordered = sorted(table.values())
    return table, ordered[len(ordered) // 2]


class Analyzer:
    """Makes topic vectors; keeps the term ↔ id vocabulary they are written in."""

    def __init__(self, taxonomy: Taxonomy | None = None) -> None:
        # loading jieba's dictionary takes a second: construct this off the event loop
        self.taxonomy = taxonomy or load_taxonomy()
        self.idf, self.default_idf = idf_table()
        self._ids: dict[str, int] = {}
        self.terms: list[str] = []
        # agents' summaries are formulaic once places are out (路灯不亮): cut each text once
        self._cut = functools.lru_cache(maxsize=CUT_CACHE)(self._cut_words)

    def vector(self, summary: str, transcript: str, category: str = "") -> Vector:
        """The unit topic vector of a case's texts (empty when they say nothing)."""
        words, chars = self.term_counts(summary, transcript)
        if not words:
            return {}
        weights = {term: (1 + math.log(n)) * idf for term, (n, idf) in words.items()}
        for char, (n, idf) in chars.items():
            if char not in words:  # said only inside longer words: never above half of one
                weights[char] = (1 + math.log(n)) * idf * CHAR_FACTOR
        if category:
            weights[CATEGORY_MARK + category] = CATEGORY_IDF
        top = sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:TOP_TERMS]
        norm = math.sqrt(sum(w * w for _, w in top))
        return {self.term_id(term): w / norm for term, w in top}

    def term_counts(self, summary: str, transcript: str) -> tuple[Counted, Counted]:
        """The words and concepts of a case's texts, and the characters of its longer words,
        each with its count (the summary's `SUMMARY_WEIGHT` times) and IDF (a character's
        never above that of the words it came from)."""
        words: Counted = {}
        chars: Counted = {}
        for text, times in ((transcript, 1), (summary, SUMMARY_WEIGHT)):
            said, inside = self._terms(text)
            for found, into in ((said, words), (inside, chars)):
                for term, (n, idf) in found.items():
                    seen, least = into.get(term, (0, idf))
                    into[term] = (seen + n * times, min(least, idf))
        return words, chars

    def words(self, vector: Mapping[int, float], limit: int = 3) -> list[str]:
        """The heaviest real words of a vector (no characters, concepts or category)."""
        ranked = sorted(vector.items(), key=lambda item: (-item[1], item[0]))
        words = [self.terms[i] for i, _ in ranked if _is_word(self.terms[i])]
        return words[:limit]

    def term_id(self, term: str) -> int:
        """The id of a term, given one the first time it is seen."""
        found = self._ids.get(term)
        if found is None:
            found = self._ids[term] = len(self.terms)
            self.terms.append(term)
        return found

    def _idf(self, term: str) -> float:
        if term.startswith(CONCEPT_MARK):
            return CONCEPT_IDF
        return self.idf.get(term, self.default_idf)

    def _terms(self, text: str) -> tuple[Counted, Counted]:
        # the result may be shared with other callers: read it, never change it
        return self._cut(
            _without_places(unicodedata.normalize("NFKC", normalize_text(text)).lower())
        )

    def _cut_words(self, plain: str) -> tuple[Counted, Counted]:
        words = Counter(w for w in self.taxonomy.tokenizer.lcut(plain, HMM=False) if _kept(w))
        for label, said in _CONCEPTS.items():
            if found := len(said.findall(plain)):
                words[CONCEPT_MARK + label] += found
        chars: Counted = {}
        for word, n in words.items():
            if len(word) > 1 and not word.startswith(CONCEPT_MARK):
                cap = self._idf(word)
                for char in word:
                    if char not in _STOP_CHARS:
                        seen, least = chars.get(char, (0, min(self._idf(char), cap)))
                        chars[char] = (seen + n, min(least, cap))
        return {w: (n, self._idf(w)) for w, n in words.items()}, chars


def cosine(one: Mapping[int, float], other: Mapping[int, float]) -> float:
    """How alike two unit vectors are, 0 to 1."""
    if len(other) < len(one):
        one, other = other, one
    return sum(w * other.get(t, 0.0) for t, w in one.items())


def centre(vectors: Iterable[Mapping[int, float]]) -> Vector:
    """The unit mean of some vectors (a topic's centre)."""
    total: dict[int, float] = {}
    for vector in vectors:
        for term, weight in vector.items():
            total[term] = total.get(term, 0.0) + weight
    norm = math.sqrt(sum(w * w for w in total.values()))
    return {t: w / norm for t, w in total.items()} if norm else {}


def _without_places(text: str) -> str:
    # a topic is what is wrong, not where: places are counted on their own
    cut = list(text)
    for start, end in place_spans(text):
        cut[start:end] = " " * (end - start)
    return "".join(cut)


def _kept(word: str) -> bool:
    if not _CJK.search(word) or word in STOP_WORDS:
        return False
    if len(word) == 1:
        return word not in _STOP_CHARS
    return not _COUNTED.fullmatch(word)


def _is_word(term: str) -> bool:
    return len(term) > 1 and not term.startswith((CONCEPT_MARK, CATEGORY_MARK))
