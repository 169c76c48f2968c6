"""The pieces of hot-topic detection, each against a plain reading of what it should do:
signatures that meet across wordings, topics that keep their sums as cases come and go,
history counts equal to counting by hand, the surge test, the office's word rules, the
store's once-per-episode rule, and the 专报's suggested handling.
"""

from __future__ import annotations

import functools
import random
from datetime import UTC, datetime, timedelta

import pytest

from ivr.db.hot_topic_views import AlertCase
from ivr.db.hot_topics import AlertView
from ivr.db.insight_models import AlertKind, AlertState
from ivr.db.models import CaseStatus
from ivr.errors import ValidationError
from ivr.hotspots.history import History
from ivr.hotspots.model import Finding, HotspotPolicy
from ivr.hotspots.replay import Episodes
from ivr.hotspots.sensitive import clean_word, words_in
from ivr.hotspots.signature import Analyzer, centre, cosine
from ivr.hotspots.surges import is_surge, tail
from ivr.hotspots.topics import TopicIndex
from ivr.reports.special import UNASSIGNED, build
from ivr.sim.case_stream import CaseStream
from ivr.sim.case_texts import ISSUES, NOISE, SALT

T0 = datetime(2031, 4, 1, 8, tzinfo=UTC)
POLICY = HotspotPolicy()


@functools.cache
def analyzer() -> Analyzer:
    """One analyzer for the module (jieba's dictionary loads once)."""
    return Analyzer()


def vector(summary: str, transcript: str = "", category: str = "market") -> dict[int, float]:
    """A topic vector."""
    return analyzer().vector(summary, transcript, category)


def test_salt_worded_apart_meets_and_other_issues_do_not() -> None:
    rush = [vector("食盐被抢光了"), vector("超市买不到盐"), vector("碘盐断货，大家都在囤盐")]
    lights = vector("人民路12号路灯不亮", category="urban")
    middle = centre(rush)
    assert all(cosine(v, middle) >= POLICY.match_similarity for v in rush)
    assert cosine(lights, middle) < 0.1
    assert "食盐" in analyzer().words(middle, 5)


def test_places_filler_and_numbers_are_not_the_topic() -> None:
    plain = vector("路灯不亮", category="urban")
    said = vector("喂你好，我想反映一下，解放路88号的路灯三天不亮了，谢谢", category="urban")
    assert cosine(plain, said) >= POLICY.join_similarity, "one topic"
    terms = {analyzer().terms[t] for t in said}
    assert not terms & {"解放路", "解放", "你好", "反映", "三天", "88"}


def test_topics_keep_their_sums_as_cases_come_and_go() -> None:
    index = TopicIndex(POLICY.join_similarity)
    rng = random.Random(4)
    stream = CaseStream(seed=4)
    cases = [stream.inject(rng.choice(ISSUES), T0, 1, timedelta(minutes=1))[0] for _ in range(120)]
    vectors = {c.id: vector(c.summary, c.transcript, c.category) for c in cases}
    for case_id, v in vectors.items():
        index.add(case_id, v)
    for case_id in list(vectors)[::3]:
        index.remove(case_id)
    for case_id in list(vectors)[1::7]:  # a changed text joins again
        index.add(case_id, vectors[case_id])
    members = [m for topic in index for m in topic.members]
    assert sorted(members) == sorted(index.topic_of) and len(members) == len(set(members))
    for topic in index:
        by_hand = centre(vectors[m] for m in topic.members)
        assert cosine(topic.centre(), by_hand) == pytest.approx(1.0, abs=1e-6)
        assert topic.square == pytest.approx(sum(w * w for w in topic.total.values()), rel=1e-6)


def test_history_counts_what_counting_by_hand_counts() -> None:
    history = History()
    stream = CaseStream(seed=5)
    cases = stream.inject(SALT, T0, 40, timedelta(hours=3)) + stream.inject(
        NOISE, T0, 60, timedelta(hours=3)
    )
    vectors = [vector(c.summary, c.transcript, c.category) for c in cases]
    for case, v in zip(cases, vectors, strict=True):
        history.add(case.created_at, v, [len(case.summary) % 3])
    spans = [(T0 + timedelta(minutes=20), T0 + timedelta(minutes=100))]
    for topic in (centre(vectors[:5]), centre(vectors[-5:])):
        by_hand = sum(
            spans[0][0] <= c.created_at < spans[0][1] and cosine(v, topic) >= 0.38
            for c, v in zip(cases, vectors, strict=True)
        )
        assert history.count_like(topic, spans, 0.38) == by_hand > 0
    at_one = sum(
        spans[0][0] <= c.created_at < spans[0][1] and len(c.summary) % 3 == 1 for c in cases
    )
    assert history.count_place(1, spans) == at_one
    history.forget(T0 + timedelta(hours=5))
    assert history.count_place(1, spans) == 0 and history.size == 0


def test_a_surge_needs_a_minimum_a_ratio_and_an_unlikely_count() -> None:
    assert not is_surge(2, 0.0, 28, 10, POLICY), "a quiet topic going from 0 to 2"
    assert is_surge(12, 0.0, 28, 10, POLICY)
    assert not is_surge(40, 20.0, 28, 10, POLICY), "twice the usual is not 'well above'"
    assert is_surge(80, 20.0, 28, 10, POLICY)
    assert not is_surge(12, 3.5, 3, 10, POLICY), "three days say little: not unlikely enough"
    assert tail(12, 0.0, 28) < tail(12, 0.0, 3) < 1e-5


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "请填写"),
        (None, "请填写"),
        ("上", "至少"),
        ("访" * 21, "不能超过"),
        ("a b", "空格"),
        ("——", "汉字"),
    ],
)
def test_bad_words_are_refused_in_chinese(raw: object, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        clean_word(raw)


def test_words_match_across_width_case_and_asr_spaces() -> None:
    assert clean_word(" ＡＢＣ卡 ") == "abc卡"
    assert words_in("我们要集体 上访，ABC卡也不退", ["集体上访", "abc卡", "跳楼"]) == [
        "集体上访",
        "abc卡",
    ]


def _finding(key: str, cases: tuple[int, ...], start: datetime, **extra: object) -> Finding:
    values: dict[str, object] = {
        "kind": AlertKind.SURGE,
        "key": key,
        "title": key,
        "window_start": start,
        "window_end": start + timedelta(hours=1),
        "case_ids": cases,
        "callers": len(cases),
        "baseline": 1.0,
        "details": {},
        "continues_after": start - timedelta(hours=2),
    }
    return Finding(**(values | extra))  # type: ignore[arg-type]


def test_an_episode_is_raised_once_and_a_later_one_again() -> None:
    episodes = Episodes()
    assert episodes.add(_finding("食盐", (1, 2, 3), T0), T0)
    assert not episodes.add(_finding("食盐、抢购", (3, 4), T0 + timedelta(minutes=10)), T0)
    assert not episodes.add(_finding("食盐", (5,), T0 + timedelta(minutes=20)), T0), "same key"
    assert episodes.add(_finding("食盐", (9,), T0 + timedelta(days=1)), T0), "a day later"
    assert episodes.raised[0].case_ids == {1, 2, 3, 4, 5}
    word = {"kind": AlertKind.SENSITIVE, "continues_after": None}
    assert episodes.add(_finding("上访", (7,), T0, **word), T0)
    assert episodes.add(_finding("上访", (8,), T0 + timedelta(seconds=1), **word), T0)
    assert not episodes.add(_finding("上访", (7,), T0, **word), T0)


def _alert(kind: AlertKind, key: str) -> AlertView:
    return AlertView(
        id=1,
        kind=kind.value,
        key=key,
        title=key,
        window_start=T0,
        window_end=T0 + timedelta(hours=2),
        raised_at=T0,
        case_count=3,
        baseline=0.5,
        details={"window_minutes": 120, "usual": 0.5, "ratio": 6.0},
        state=AlertState.OPEN,
        acknowledged_by=None,
        acknowledged_at=None,
    )


def _case(n: int, department: str, **extra: object) -> AlertCase:
    values: dict[str, object] = {
        "id": n,
        "number": None,
        "status": CaseStatus.REGISTERED,
        "created_at": T0 + timedelta(minutes=9 * n),
        "category": "urban",
        "department": department,
        "summary": "噪音扰民",
        "transcript": f"阳光小区{n}栋楼下太吵了，我电话13800001111",
        "address": f"阳光小区{n}栋",
        "caller_number": f"1390000{n:04d}",
        "caller_name": None,
        "contact_phone": None,
        "whistleblower": False,
    }
    return AlertCase(**(values | extra))  # type: ignore[arg-type]


def test_the_report_asks_for_a_lead_when_no_department_owns_the_calls() -> None:
    cases = [_case(1, "市公安局"), _case(2, "市城管执法局"), _case(3, ""), _case(4, "市生态环境局")]
    cases.append(_case(5, "市公安局", whistleblower=True, transcript="我是举报人王五"))
    report = build(_alert(AlertKind.PLACE, "阳光小区"), cases, now=T0, zone=UTC)
    assert "尚无单位牵头" in report.suggestion and "阳光小区" in report.suggestion
    assert (UNASSIGNED, 1) in report.departments
    assert not any("王五" in quote or "13800001111" in quote for quote in report.quotes)
    assert report.places == (("阳光小区", 5),)
    assert sum(bar.count for bar in report.bars) == 5 and report.bars[0].usual == pytest.approx(
        0.0625
    )
    owned = build(
        _alert(AlertKind.SURGE, "食盐"),
        [_case(n, "市市场监管局") for n in range(3)],
        now=T0,
        zone=UTC,
    )
    assert owned.suggestion.startswith("建议由市市场监管局牵头")


@pytest.mark.parametrize("least", [0.1, 0.38, 0.7])
def test_history_counts_skip_only_rows_that_cannot_be_alike(least: float) -> None:
    rng, history = random.Random(least), History()
    rows = []
    for n in range(600):
        raw = {rng.randrange(40): rng.random() ** 3 for _ in range(rng.randint(1, 12))}
        norm = sum(w * w for w in raw.values()) ** 0.5
        rows.append((T0 + timedelta(minutes=n), {t: w / norm for t, w in raw.items()}))
        history.add(*rows[-1], ())
    spans = [
        (T0 + timedelta(minutes=50), T0 + timedelta(minutes=170)),
        (T0, T0 + timedelta(minutes=10)),
    ]
    for _ in range(20):
        topic = centre(rng.sample([v for _, v in rows], 5))
        by_hand = sum(
            any(a <= at < b for a, b in spans) and cosine(v, topic) >= least + 1e-6
            for at, v in rows
        )
        near_edge = sum(
            any(a <= at < b for a, b in spans) and abs(cosine(v, topic) - least) < 1e-5
            for at, v in rows
        )
        assert abs(history.count_like(topic, spans, least) - by_hand) <= near_edge
