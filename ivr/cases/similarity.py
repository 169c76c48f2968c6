"""并单 suggestions: which other cases describe the same problem at the same place.

Pure: the caller passes the case, the cases around it and the window. Two measures, both
needed for a suggestion:

- the wording of the problem (summary and transcript, places taken out): TF-IDF cosine of
  character unigrams and bigrams, weighed over the cases compared, so 路灯坏了 and 路灯不亮
  meet on 路灯 while greetings and filler (你好, 我要反映) count for nothing;
- the place (ivr.cases.places): the case's address, else the places its text names; the
  same street and door number is the same place, another street is not.

The same category adds to the score. Reporters' cases (检举/举报) are never suggested, nor
suggested anything: merged callers all hear the reply, which would tell them who reported.
A case already merged into another is suggested as that main case.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from ivr.cases.places import Place, place_similarity, place_spans, places_in
from ivr.db.models import CaseStatus

# How the score is made, and the least a suggestion needs of each part.
WORDING_WEIGHT, PLACE_WEIGHT, CATEGORY_WEIGHT = 0.6, 0.25, 0.15
MIN_WORDING, MIN_PLACE, THRESHOLD = 0.2, 0.5, 0.45
SHOWN_WORDS = 5
# Callers' filler: these carry no problem, so they split the text instead of joining it.
_FILLER = re.compile(
    "你好|您好|喂|谢谢|麻烦|我要|我想|想要|反映|反应|投诉|举报|希望|尽快|赶紧|处理|解决|"
    "一下|问题|情况|现在|已经|一直|好几|几天|几次|市民|来电|热线|有关|相关|部门|政府|帮忙|"
    "那边|这边|附近|门口|旁边|一个|这个|那个|什么|怎么|还是|但是|因为|所以|非常|特别"
)
# Ways of saying one thing that share no character (坏了 / 不亮 / 灭了): each also counts as
# its concept, so callers who word one problem differently still meet.
CONCEPTS = {
    "故障": ("坏", "不亮", "灭", "故障", "失灵", "不工作", "不能用", "不好使", "不转"),
    "堵塞": ("堵", "不通", "淤", "排不出", "下不去"),
    "漏水": ("漏", "渗水", "冒水", "爆管", "跑水"),
    "噪音": ("噪音", "噪声", "吵", "扰民", "轰鸣"),
    "缺失": ("没了", "丢失", "缺失", "不见", "被偷", "丢了"),
    "积水": ("积水", "淹", "水漫"),
    "异味": ("臭", "异味", "气味", "味道"),
    "停供": ("停水", "停电", "停气", "没水", "没电", "没气", "断水", "断电"),
}
_CONCEPT_WORDS = {
    label: re.compile("|".join(map(re.escape, words))) for label, words in CONCEPTS.items()
}
CONCEPT_MARK = "#"  # concept terms are told apart from the text's own characters
SUMMARY_WEIGHT = 2  # the agent's summary states the problem; the transcript rambles
# Counted things (三天, 两次, 十二号, 五楼) say when or how often, not what is wrong.
_COUNTED = re.compile(
    "[零〇一二两三四五六七八九十百千几]+(?:天|次|个|号|点|年|月|日|楼|层|栋|遍|回)"
)
_STOP = set("的了是在有和与及我你他她它们这那就都也还又很太吧呢啊吗呀哦嗯请您说个条被把给让")
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_OPEN = frozenset(s for s in CaseStatus if s not in (CaseStatus.DRAFT, CaseStatus.ARCHIVED))


@dataclasses.dataclass(frozen=True)
class CaseText:
    """What the comparison reads of a case."""

    id: int
    status: CaseStatus
    category: str
    summary: str
    transcript: str
    address: str | None
    created_at: datetime
    whistleblower: bool = False
    merged_into_id: int | None = None


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A case to merge with, how alike it is (0 to 1) and why."""

    case_id: int
    score: float
    wording: float
    place: float
    same_category: bool
    shared_words: tuple[str, ...]
    shared_place: str | None
    via: tuple[int, ...] = ()  # merged cases of this main whose wording matched


def suggest(
    case: CaseText, others: Sequence[CaseText], *, window: timedelta, limit: int = 10
) -> list[Suggestion]:
    """The cases `case` may duplicate, most alike first (see the module's rules)."""
    if not may_merge(case):
        return []
    by_id = {other.id: other for other in others}
    near = [o for o in others if o.id != case.id and _eligible(o, case, window)]
    vectors = _Wording([case, *near])
    best: dict[int, Suggestion] = {}
    for other in near:
        main = by_id.get(other.merged_into_id) if other.merged_into_id else other
        if main is None or main.id == case.id or not _eligible(main, case, None):
            continue
        found = _compare(case, other, vectors)
        if found is None:
            continue
        if main is not other:
            found = dataclasses.replace(found, case_id=main.id, via=(other.id,))
        best[main.id] = _better(best.get(main.id), found)
    ranked = sorted(best.values(), key=lambda s: (-s.score, s.case_id))
    return ranked[:limit]


def wording_terms(summary: str, transcript: str = "") -> Counter[str]:
    """The problem's terms: characters, character pairs and concepts (places, digits and
    filler left out), the summary's counted twice."""
    terms = _terms(_segments(transcript))
    for _ in range(SUMMARY_WEIGHT):
        terms.update(_terms(_segments(summary)))
    return terms


def may_merge(case: CaseText) -> bool:
    """Whether a case may have duplicates at all: open, not a report, not merged itself."""
    return case.status in _OPEN and not case.whistleblower and case.merged_into_id is None


def _eligible(other: CaseText, case: CaseText, window: timedelta | None) -> bool:
    if other.status not in _OPEN or other.whistleblower:
        return False
    return window is None or abs(other.created_at - case.created_at) <= window


def _compare(case: CaseText, other: CaseText, vectors: _Wording) -> Suggestion | None:
    place, shared_place = place_similarity(places_of(case), places_of(other))
    if place < MIN_PLACE:
        return None
    wording = vectors.cosine(case.id, other.id)
    if wording < MIN_WORDING:
        return None
    same = case.category == other.category
    score = WORDING_WEIGHT * wording + PLACE_WEIGHT * place + CATEGORY_WEIGHT * same
    if score < THRESHOLD:
        return None
    return Suggestion(
        case_id=other.id,
        score=round(score, 3),
        wording=round(wording, 3),
        place=round(place, 3),
        same_category=same,
        shared_words=vectors.shared(case.id, other.id),
        shared_place=str(shared_place) if shared_place else None,
    )


def _better(old: Suggestion | None, new: Suggestion) -> Suggestion:
    if old is None:
        return new
    via = tuple(sorted({*old.via, *new.via}))
    return dataclasses.replace(new if new.score > old.score else old, via=via)


def places_of(case: CaseText) -> tuple[Place, ...]:
    """Where the case is: its address, else the places its summary and transcript name."""
    return places_in(case.address) or places_in(f"{case.summary} {case.transcript}")


def _segments(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKC", text).lower()
    cut = list(plain)
    for start, end in place_spans(plain):  # the place is compared on its own
        cut[start:end] = " " * (end - start)
    runs = _FILLER.sub(" ", _COUNTED.sub(" ", "".join(cut)))
    runs = "".join(" " if c in _STOP else c for c in runs)
    return _CJK.findall(runs)  # digits and Latin letters go: dates, times, phone numbers


class _Wording:
    """TF-IDF vectors of the cases' problem texts, weighed over these cases."""

    def __init__(self, cases: Iterable[CaseText]) -> None:
        listed = list(cases)
        self._runs = {c.id: _segments(f"{c.summary} {c.transcript}") for c in listed}
        terms = {c.id: wording_terms(c.summary, c.transcript) for c in listed}
        seen = Counter(term for counts in terms.values() for term in counts)
        total = len(terms)
        idf = {t: math.log((1 + total) / (1 + n)) + 1 for t, n in seen.items()}
        self._weights = {
            case_id: {t: (1 + math.log(n)) * idf[t] for t, n in counts.items()}
            for case_id, counts in terms.items()
        }

    def cosine(self, one: int, other: int) -> float:
        """How alike two cases' wordings are, 0 to 1."""
        a, b = self._weights[one], self._weights[other]
        dot = sum(w * b[t] for t, w in a.items() if t in b)
        norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
        return dot / norm if norm else 0.0

    def shared(self, one: int, other: int) -> tuple[str, ...]:
        """The words both use, as the first one says them, the weightiest first."""
        mine, theirs = self._weights[one], self._weights[other]
        words: dict[str, float] = {}
        for run in self._runs[one]:
            for word in _shared_stretches(run, theirs):
                words[word] = sum(mine[word[i : i + 2]] for i in range(len(word) - 1))
        for term, weight in mine.items():
            if term.startswith(CONCEPT_MARK) and term in theirs:
                words[term.removeprefix(CONCEPT_MARK)] = weight
        return tuple(sorted(words, key=lambda w: -words[w])[:SHOWN_WORDS])


def _terms(runs: Iterable[str]) -> Counter[str]:
    terms: Counter[str] = Counter()
    for run in runs:
        terms.update(run)
        terms.update(run[i : i + 2] for i in range(len(run) - 1))
        for label, said in _CONCEPT_WORDS.items():
            if found := len(said.findall(run)):
                terms[CONCEPT_MARK + label] += found
    return terms


def _shared_stretches(run: str, theirs: Mapping[str, float]) -> list[str]:
    # Shared pairs next to each other make one word: 路灯 + 灯不 + 不亮 → 路灯不亮.
    words, start = [], None
    for i in range(len(run)):
        if i < len(run) - 1 and run[i : i + 2] in theirs:
            start = i if start is None else start
        elif start is not None:
            words.append(run[start : i + 1])
            start = None
    return words
