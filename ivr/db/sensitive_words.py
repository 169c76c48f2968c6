"""The office's sensitive-word list (敏感词): read, added to, words switched off.

A word is stored as `ivr.hotspots.sensitive.clean_word` makes it (NFKC, lower case) and is
unique. Adding a word that was switched off switches it on again; adding one that is on
is a `DuplicateWord`. Switching a word off keeps it (and the alerts it raised) on record.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import structlog
from sqlalchemy import select

from ivr.db.calls import Sessions
from ivr.db.engine import dialect_insert
from ivr.db.insight_models import SensitiveWord
from ivr.errors import RecordNotFound, ValidationError
from ivr.hotspots.sensitive import clean_word

log = structlog.get_logger(__name__)


class DuplicateWord(ValidationError):
    """The word is on the list already."""


@dataclasses.dataclass(frozen=True)
class WordView:
    """A word of the list."""

    id: int
    word: str
    added_by: str
    added_at: datetime
    active: bool


async def active_words(sm: Sessions) -> list[str]:
    """The words alerts are raised for."""
    query = select(SensitiveWord.word).where(SensitiveWord.active.is_(True))
    async with sm() as session:
        return sorted(await session.scalars(query))


async def list_words(sm: Sessions) -> list[WordView]:
    """Every word, those in use first, then by the word."""
    query = select(SensitiveWord).order_by(SensitiveWord.active.desc(), SensitiveWord.word)
    async with sm() as session:
        return [_view(row) for row in await session.scalars(query)]


async def add_word(sm: Sessions, raw: object, *, actor: str, at: datetime) -> WordView:
    """Put a word on the list (ValidationError for a bad one, DuplicateWord if it is on)."""
    word = clean_word(raw)
    table = SensitiveWord.__table__
    async with sm.begin() as session:
        stmt = (
            dialect_insert(session, table)
            .values(word=word, added_by=actor, added_at=at, active=True)
            .on_conflict_do_nothing(index_elements=[table.c.word])
            .returning(table.c.id)
        )
        new_id = (await session.execute(stmt)).scalar_one_or_none()
        query = select(SensitiveWord).where(SensitiveWord.word == word).with_for_update()
        row = (await session.scalars(query)).one()
        if new_id is None:
            if row.active:
                raise DuplicateWord(f"“{word}”已在敏感词表中")
            row.active, row.added_by, row.added_at = True, actor, at
            await session.flush()
        log.info("sensitive_word_added", word=word, actor=actor, again=new_id is None)
        return _view(row)


async def deactivate_word(sm: Sessions, word_id: int, *, actor: str) -> WordView:
    """Switch a word off (it stays on record); RecordNotFound when there is none."""
    async with sm.begin() as session:
        row = await session.get(SensitiveWord, word_id, with_for_update=True)
        if row is None:
            raise RecordNotFound(f"no sensitive word {word_id}")
        if row.active:
            row.active = False
            await session.flush()
            log.info("sensitive_word_deactivated", word=row.word, actor=actor)
        return _view(row)


def _view(row: SensitiveWord) -> WordView:
    return WordView(row.id, row.word, row.added_by, row.added_at, row.active)
