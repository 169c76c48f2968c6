"""Knowledge-base search: jieba words, BM25 over the articles in force, the index cache.

The articles are the kind a 12345 center keeps (医保报销、公积金提取、居住证办理、供暖收费、
各部门电话). Segmentation is what makes them findable: a question finds the article by its
words, not by characters it happens to share, and question words (怎么, 一下) find nothing.
The cache tests run on SQLite and PostgreSQL and rank alike on both.
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ivr.cases.taxonomy import load_taxonomy
from ivr.db import kb
from ivr.errors import StaleEdit, ValidationError
from ivr.kb.articles import Article, ArticleFields, article_fields, consultation
from ivr.kb.ranking import Index, excerpt, make_doc
from ivr.kb.terms import Tokenizer, search_words, terms
from tests.test_web_console import Sessions

TODAY = date(2031, 3, 5)
AT = datetime(2031, 3, 5, 2, 0, tzinfo=UTC)
CATEGORIES = frozenset(c.code for c in load_taxonomy().categories)
PENSION = "住房公积金提取办理指南"
MEDICAL = "城乡居民医保报销政策"
RESIDENCE = "居住证办理须知"
HEATING = "居民供暖收费标准及缴费方式"
PHONES = "政府部门服务电话"
SUBSIDY = "2023年供暖季困难家庭供暖补贴"
ARTICLES: list[dict[str, Any]] = [
    {
        "title": PENSION,
        "kind": "policy",
        "category": "housing",
        "owner": "市住房公积金管理中心",
        "body": "职工购买、建造、翻建、大修自住住房，或者偿还购房贷款本息的，可以申请提取本人"
        "住房公积金账户内的存储余额。与单位终止劳动关系未再就业满半年的，也可以申请提取。"
        "提取时请携带本人身份证、银行卡和相关证明材料，到市住房公积金管理中心各服务网点办理，"
        "也可以通过手机公积金APP在线提取，一般3个工作日内到账。",
    },
    {
        "title": MEDICAL,
        "kind": "policy",
        "category": "health",
        "owner": "市医保局",
        "body": "参保人员在本市定点医疗机构住院，符合规定的医疗费用由医保基金按比例报销：一级医院"
        "报销90%，二级医院80%，三级医院70%。异地就医须先办理备案。出院时直接结算；未能直接结算"
        "的，请携带身份证、医保卡、住院发票和费用清单到医保经办窗口申请报销。",
    },
    {
        "title": RESIDENCE,
        "kind": "policy",
        "category": "public_security",
        "owner": "市公安局",
        "body": "在本市居住半年以上，符合有合法稳定就业、合法稳定住所、连续就读条件之一的，可以到"
        "居住地派出所申领居住证。申领时请提交居民身份证、近期一寸照片和住所证明。居住证每年签注"
        "一次，逾期未签注的暂停使用。",
    },
    {
        "title": HEATING,
        "kind": "policy",
        "category": "utilities",
        "owner": "市热力公司",
        # 提前 and 领取: both characters of 提取, and no such word
        "body": "居民供暖费按建筑面积收取，每平方米每个采暖期25元。供暖费可提前缴纳，十月底前缴纳"
        "的享受九五折优惠。缴费后凭缴费凭证领取发票。室温低于18度、暖气不热的，可以拨打热力"
        "公司服务电话报修。",
    },
    {
        "title": PHONES,
        "kind": "contact",
        "category": "other",
        "owner": "12345热线",
        "body": "市人社局：12333（社保、就业、工资）。市住房公积金管理中心：12329。"
        "市医保局：12393。市热力公司：96069（暖气不热、供暖报修）。市公安局户政窗口：0571-87280000（户口、身份证）。",
    },
    {
        "title": SUBSIDY,
        "kind": "policy",
        "category": "civil",
        "owner": "市民政局",
        "valid_from": "2023-11-15",
        "valid_until": "2024-03-15",
        "body": "2023年至2024年供暖季，低保家庭和特困人员的供暖费给予每户1000元补贴，由社区统一"
        "申报，无需个人申请。",
    },
]


def tokenizer() -> Tokenizer:
    """The tokenizer the application uses: the taxonomy's."""
    tokens: Tokenizer = load_taxonomy().tokenizer
    return tokens


def articles(today: date = TODAY) -> list[Article]:
    """ARTICLES as stored, the expired one's dates left as they are."""
    cut = tokenizer()
    stored = []
    for number, raw in enumerate(ARTICLES, 1):
        fields = article_fields(raw, CATEGORIES)
        words = search_words(cut, fields.title, fields.body)
        stored.append(Article(**vars(fields), id=number, version=1, search_words=words))
    return stored


def index_of(found: list[Article], today: date = TODAY) -> Index:
    """An index over these articles on `today`."""
    return Index((make_doc(a, terms(tokenizer(), a.title)) for a in found), today)


def titles(index: Index, question: str, **options: Any) -> list[str]:
    """The titles a question finds, best first."""
    hits = index.search(terms(tokenizer(), question), limit=options.pop("limit", 10), **options)
    return [hit.article.title for hit in hits]


# --- words -------------------------------------------------------------------------------


def test_question_words_go_and_a_long_word_brings_the_words_inside_it() -> None:
    assert terms(tokenizer(), "你好，我想问一下公积金怎么提取？") == [
        "公积",
        "积金",
        "公积金",
        "提取",
    ]
    # the taxonomy's dictionary keeps 人社局 whole; 的、是 and the punctuation go
    assert terms(tokenizer(), "市人社局的电话是多少？") == ["人社局", "电话"]
    # ASR puts spaces between words: they are joined again before cutting
    assert terms(tokenizer(), "供暖 费 怎么 交") == ["供暖", "供暖费"]


def test_a_question_finds_its_article_by_words_not_by_shared_characters() -> None:
    index = index_of(articles())
    found = index.search(terms(tokenizer(), "公积金怎么提取"), limit=10)
    assert found[0].article.title == PENSION
    assert set(found[0].words) == {"公积金", "提取"}
    # the phone list names the 公积金 center: related, and below the article about it
    assert [hit.article.title for hit in found] == [PENSION, PHONES]
    assert titles(index, "提取") == [PENSION]
    # the heating article holds both characters of 提取 (提前, 领取, 收取), not the word
    heating = next(a for a in articles() if a.title == HEATING)
    assert set("提取") <= set(heating.body) and "提取" not in heating.body
    # question words alone find nothing at all
    assert titles(index, "请问怎么办理需要什么") == titles(index, "办理")
    assert titles(index, "你好，我想咨询一下") == []


def test_unrelated_articles_are_not_returned_and_the_title_weighs_most() -> None:
    index = index_of(articles())
    assert titles(index, "医保报销需要哪些材料")[0] == MEDICAL
    assert titles(index, "居住证到期了怎么签注") == [RESIDENCE]
    heating = titles(index, "供暖费怎么交")
    assert heating[0] == HEATING and MEDICAL not in heating and PENSION not in heating
    # 人社局 is only in the phone list
    assert titles(index, "人社局电话是多少")[0] == PHONES


def test_only_articles_in_force_on_the_day_are_found() -> None:
    stored = articles()
    question = "困难家庭供暖补贴怎么申请"
    assert SUBSIDY not in titles(index_of(stored), question)  # expired in 2024
    assert titles(index_of(stored, date(2024, 3, 15)), question)[0] == SUBSIDY  # its last day
    assert SUBSIDY not in titles(index_of(stored, date(2023, 11, 14)), question)  # not yet
    retired = [a if a.title != PENSION else Article(**{**vars(a), "active": False}) for a in stored]
    assert PENSION not in titles(index_of(retired), "公积金提取")
    # statistics are over the articles in force only
    assert len(index_of(stored)) == len(ARTICLES) - 1


def test_a_transcript_suggests_the_best_articles_and_not_the_far_behind() -> None:
    index = index_of(articles())
    said = "喂你好，我家暖气一直不热，供暖费已经交了，想问问能不能退一部分"
    assert titles(index, said, min_share=0.35, limit=3) == [HEATING, PHONES]
    everything = titles(index, "医保报销需要什么材料")
    assert PENSION in everything  # 材料 is in it…
    assert PENSION not in titles(index, "医保报销需要什么材料", min_share=0.35)  # …far behind


def test_an_excerpt_is_cut_around_the_first_matched_word() -> None:
    body = "甲" * 100 + "可以申请提取本人住房公积金" + "乙" * 100
    cut = excerpt(body, ["公积金", "提取"], width=40)
    assert cut.startswith("…") and cut.endswith("…") and "提取" in cut and len(cut) == 42
    assert excerpt("短文", ["没有"]) == "短文"


def test_consultations_go_to_the_taxonomys_consultation_category() -> None:
    found = consultation(load_taxonomy())
    assert (found.code, found.department) == ("other", "12345热线直接答复")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"title": "x"}, "请填写：正文、文章类型、分类、责任单位"),
        ({**ARTICLES[0], "title": "  "}, "标题不能为空"),
        ({**ARTICLES[0], "title": "长" * 201}, "标题不能超过 200 个字"),
        ({**ARTICLES[0], "body": "长" * 8001}, "正文不能超过 8000 个字"),
        ({**ARTICLES[0], "body": ["列表"]}, "正文应为文字"),
        ({**ARTICLES[0], "owner": "市\x00局"}, "责任单位含有非法字符"),
        ({**ARTICLES[0], "kind": "faq"}, "文章类型应为"),
        ({**ARTICLES[0], "kind": ["policy"]}, "文章类型应为"),
        ({**ARTICLES[0], "category": "weather"}, "没有这个分类"),
        ({**ARTICLES[0], "category": {"a": 1}}, "没有这个分类"),
        ({**ARTICLES[0], "valid_from": "2031-02-30"}, "有效期起应写成 YYYY-MM-DD"),
        ({**ARTICLES[0], "valid_until": 20310301}, "有效期止应写成 YYYY-MM-DD"),
        ({**ARTICLES[0], "valid_from": "2031-03-05", "valid_until": "2031-03-04"}, "不能早于"),
        ({**ARTICLES[0], "active": False}, "文章没有这些字段：active"),
    ],
)
def test_what_the_office_types_is_checked(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        article_fields(raw, CATEGORIES)


def test_an_edit_is_checked_together_with_what_it_keeps() -> None:
    base = article_fields({**ARTICLES[0], "valid_from": "2031-03-01"}, CATEGORIES)
    changed = article_fields({"valid_until": "2031-12-31"}, CATEGORIES, base=base)
    assert (changed.title, changed.valid_from, changed.valid_until) == (
        PENSION,
        date(2031, 3, 1),
        date(2031, 12, 31),
    )
    with pytest.raises(ValidationError, match="不能早于"):
        article_fields({"valid_until": "2031-02-01"}, CATEGORIES, base=base)
    assert article_fields({"valid_from": ""}, CATEGORIES, base=base).valid_from is None


def test_a_few_thousand_articles_are_searched_in_milliseconds() -> None:
    base = articles()
    many = [
        Article(**{**vars(a), "id": n * 10 + i, "title": f"{a.title}（第{n}号）"})
        for n in range(500)
        for i, a in enumerate(base)
    ]
    started = time.perf_counter()
    index = index_of(many)
    built = time.perf_counter() - started
    questions = [terms(tokenizer(), q) for q in ("公积金怎么提取", "医保报销", "暖气不热")]
    timings = []
    for query in questions * 5:
        started = time.perf_counter()
        assert index.search(query, limit=20)
        timings.append(time.perf_counter() - started)
    assert len(index) == 2500 and built < 5
    assert statistics.median(timings) < 0.05, timings


# --- the index in the database, cached per process ---------------------------------------


class CountingTokenizer:
    """The real tokenizer, counting what it cuts and on which threads."""

    def __init__(self) -> None:
        self.cut: list[str] = []
        self.threads: set[int] = set()

    def lcut_for_search(self, sentence: str, HMM: bool = True) -> list[str]:
        """Cut, and remember it."""
        self.cut.append(sentence)
        self.threads.add(threading.get_ident())
        return tokenizer().lcut_for_search(sentence, HMM=HMM)


async def add_articles(sm: Sessions, search: kb.KbSearch) -> dict[str, Article]:
    """ARTICLES in the database, by title."""
    saved = {}
    for raw in ARTICLES:
        fields = article_fields(raw, CATEGORIES)
        words = await search.words_of(fields)
        saved[fields.title] = await kb.create_article(sm, fields, words, actor="office-1", at=AT)
    return saved


async def test_the_index_is_cached_and_follows_every_change(own_sessionmaker: Sessions) -> None:
    counting = CountingTokenizer()
    search = kb.KbSearch(own_sessionmaker, lambda: counting)
    saved = await add_articles(own_sessionmaker, search)

    async def found(question: str, day: date = TODAY) -> list[str]:
        return [hit.article.title for hit in await search.search(question, day, limit=10)]

    assert await found("公积金怎么提取") == [PENSION, PHONES]  # the same on both backends
    index = await search.index(TODAY)
    cut_before = len(counting.cut)
    assert await search.index(TODAY) is index and len(counting.cut) == cut_before  # cached
    assert threading.get_ident() not in counting.threads  # jieba ran in worker threads

    renamed = ArticleFields(
        **{**vars(article_fields(ARTICLES[2], CATEGORIES)), "title": "居住证签注"}
    )
    residence = saved[RESIDENCE]
    await kb.update_article(
        own_sessionmaker,
        residence.id,
        renamed,
        await search.words_of(renamed),
        expected_version=residence.version,
        actor="office-1",
        at=AT,
    )
    cut_before = len(counting.cut)
    assert await found("签注") == ["居住证签注"]
    # only the changed article's title is cut again (and the question)
    assert counting.cut[cut_before:] == ["居住证签注", "签注"]

    pension = saved[PENSION]
    await kb.set_active(
        own_sessionmaker, pension.id, False, expected_version=1, actor="office-1", at=AT
    )
    assert await found("公积金怎么提取") == [PHONES]
    assert (await found("困难家庭供暖补贴", date(2024, 1, 1)))[0] == SUBSIDY  # another day


async def test_an_edit_on_an_old_version_is_refused(own_sessionmaker: Sessions) -> None:
    search = kb.KbSearch(own_sessionmaker, tokenizer)
    saved = (await add_articles(own_sessionmaker, search))[HEATING]
    fields = article_fields({"body": "新的收费标准"}, CATEGORIES, base=saved)
    edit: dict[str, Any] = {"actor": "office-2", "at": AT + timedelta(hours=1)}
    first = await kb.update_article(
        own_sessionmaker, saved.id, fields, "收费 标准", expected_version=1, **edit
    )
    assert first.version == 2 and first.updated_by == "office-2"
    with pytest.raises(StaleEdit, match="第 1 版，现在是第 2 版"):
        await kb.update_article(own_sessionmaker, saved.id, saved, "", expected_version=1, **edit)
    assert (await kb.get_article(own_sessionmaker, saved.id)).body == "新的收费标准"


async def test_answering_needs_an_article_in_force(own_sessionmaker: Sessions) -> None:
    search = kb.KbSearch(own_sessionmaker, tokenizer)
    saved = await add_articles(own_sessionmaker, search)
    async with own_sessionmaker() as session:
        found = await kb.article_in_force(session, saved[PENSION].id, TODAY)
        assert found.title == PENSION
        for wrong in (saved[SUBSIDY].id, 10**6, "1", True, None):
            with pytest.raises(ValidationError, match="知识库文章"):
                await kb.article_in_force(session, wrong, TODAY)
