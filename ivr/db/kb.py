"""The knowledge base in the database: articles written, edited and retired under a version
check, and this process's search index over them.

Every edit names the version it was made on; an article changed since is refused
(StaleEdit), never overwritten. The index (ivr.kb.ranking) lives in the process: each search
first reads a cheap stamp of the table (count, highest id, sum of versions, last change), and
only when it moved are the changed articles read again; jieba and BM25 run in a worker
thread. The same code on SQLite and PostgreSQL: nothing but plain SELECTs.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.insight_models import ArticleKind, KbArticle
from ivr.db.models import snapshot
from ivr.errors import RecordNotFound, StaleEdit, ValidationError
from ivr.kb.articles import Article, ArticleFields
from ivr.kb.ranking import Doc, Hit, Index, make_doc
from ivr.kb.terms import Tokenizer, search_words, terms

EDITED = tuple(field.name for field in dataclasses.fields(ArticleFields))
LIST_LIMIT = 500
_CHUNK = 500  # ids per IN (...): well under SQLite's limit on bound parameters


async def create_article(
    sm: Sessions, fields: ArticleFields, words: str, *, actor: str, at: datetime
) -> Article:
    """Save a new article, in force from its dates on."""
    async with sm.begin() as session:
        row = KbArticle(active=True, created_at=at, search_words=words)
        _write(row, fields, actor, at)
        session.add(row)
        await session.flush()
        return _view(row)


async def update_article(
    sm: Sessions,
    article_id: int,
    fields: ArticleFields,
    words: str,
    *,
    expected_version: int,
    actor: str,
    at: datetime,
) -> Article:
    """Save an edited article; StaleEdit when it changed since `expected_version`."""
    async with sm.begin() as session:
        row = await _locked(session, article_id, expected_version)
        _write(row, fields, actor, at)
        row.search_words = words
        await session.flush()
        return _view(row)


async def set_active(
    sm: Sessions, article_id: int, active: bool, *, expected_version: int, actor: str, at: datetime
) -> Article:
    """Retire an article (agents no longer see it) or bring it back."""
    async with sm.begin() as session:
        row = await _locked(session, article_id, expected_version)
        row.active, row.updated_at, row.updated_by = active, at, actor
        await session.flush()
        return _view(row)


async def get_article(sm: Sessions, article_id: int) -> Article:
    """One article, in force or not; RecordNotFound when there is none."""
    async with sm() as session:
        row = await session.get(KbArticle, article_id)
    if row is None:
        raise RecordNotFound(f"没有编号为 {article_id} 的知识库文章")
    return _view(row)


async def list_articles(sm: Sessions, *, owner: str | None = None) -> list[Article]:
    """The latest changed articles (of one owner), retired ones included."""
    query = select(KbArticle).order_by(KbArticle.updated_at.desc(), KbArticle.id.desc())
    if owner is not None:
        query = query.where(KbArticle.owner == owner)
    async with sm() as session:
        return [_view(row) for row in await session.scalars(query.limit(LIST_LIMIT))]


async def article_in_force(session: AsyncSession, article_id: object, today: date) -> Article:
    """The article a case is answered with, inside the caller's transaction; a
    ValidationError when there is none in force today."""
    if not isinstance(article_id, int) or isinstance(article_id, bool):
        raise ValidationError("请选择用来答复的知识库文章（article_id 应为文章编号）")
    row = await session.get(KbArticle, article_id)
    if row is None or not _view(row).in_force(today):
        raise ValidationError(
            f"知识库文章 #{article_id} 不存在、已停用或不在有效期内，不能据此答复"
        )
    return _view(row)


class KbSearch:
    """This process's search index, rebuilt when an article or the day changes."""

    def __init__(self, sm: Sessions, tokenizer: Callable[[], Tokenizer]) -> None:
        self._sm = sm
        self._tokenizer = tokenizer  # called in worker threads: its first call loads jieba
        self._docs: dict[int, Doc] = {}
        self._seen: tuple[object, ...] | None = None
        self._index = Index((), date.min)
        self._lock = asyncio.Lock()

    async def search(
        self, text: str, today: date, *, limit: int, min_share: float = 0.0
    ) -> list[Hit]:
        """The articles in force on `today` that answer `text`, best first."""
        index = await self.index(today)
        return await asyncio.to_thread(self._rank, index, text, limit, min_share)

    async def words_of(self, fields: ArticleFields) -> str:
        """The `search_words` an article with these fields is stored with."""
        return await asyncio.to_thread(search_words, self._tokenizer(), fields.title, fields.body)

    async def index(self, today: date) -> Index:
        """The index for `today`, brought up to date with the table first."""
        seen = (await self._stamp(), today)
        if seen != self._seen:
            async with self._lock:  # one rebuild at a time; those waiting find it done
                if seen != self._seen:
                    self._docs = await self._documents()
                    self._index = await asyncio.to_thread(Index, self._docs.values(), today)
                    self._seen = seen
        return self._index

    def _rank(self, index: Index, text: str, limit: int, min_share: float) -> list[Hit]:
        return index.search(terms(self._tokenizer(), text), limit=limit, min_share=min_share)

    async def _stamp(self) -> tuple[object, ...]:
        # any insert raises the count or the highest id; any edit or retirement the versions
        query = select(
            func.count(KbArticle.id),
            func.max(KbArticle.id),
            func.sum(KbArticle.version),
            func.max(KbArticle.updated_at),
        )
        async with self._sm() as session:
            return tuple((await session.execute(query)).one())

    async def _documents(self) -> dict[int, Doc]:
        # only the articles added or changed since the last build are read and cut again
        query = select(KbArticle.id, KbArticle.version).where(KbArticle.active)
        async with self._sm() as session:
            versions: dict[int, int] = {i: v for i, v in (await session.execute(query)).all()}
            kept = {i: d for i, d in self._docs.items() if versions.get(i) == d.article.version}
            changed = [i for i in versions if i not in kept]
            rows: list[KbArticle] = []
            for start in range(0, len(changed), _CHUNK):
                chunk = changed[start : start + _CHUNK]
                rows += await session.scalars(select(KbArticle).where(KbArticle.id.in_(chunk)))
            articles = [_view(row) for row in rows]
        return kept | await asyncio.to_thread(self._cut, articles)

    def _cut(self, articles: Sequence[Article]) -> dict[int, Doc]:
        tokenizer = self._tokenizer()
        return {a.id: make_doc(a, terms(tokenizer, a.title)) for a in articles}


async def _locked(session: AsyncSession, article_id: int, expected_version: int) -> KbArticle:
    row = await session.get(KbArticle, article_id, with_for_update=True)
    if row is None:
        raise RecordNotFound(f"没有编号为 {article_id} 的知识库文章")
    if row.version != expected_version:
        raise StaleEdit(
            f"文章已被他人修改（您编辑的是第 {expected_version} 版，现在是第 {row.version} 版），"
            "请刷新后重新编辑"
        )
    return row


def _write(row: KbArticle, fields: ArticleFields, actor: str, at: datetime) -> None:
    for name in EDITED:
        setattr(row, name, getattr(fields, name))
    row.kind = ArticleKind(fields.kind).value
    row.updated_at, row.updated_by = at, actor


def _view(row: KbArticle) -> Article:
    return snapshot(Article, row, kind=ArticleKind(row.kind))
