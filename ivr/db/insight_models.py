"""SQLAlchemy models of what the hotline learns and tells: the knowledge base (知识库),
hot-topic alerts (热点预警) with the cases behind them, and the office's sensitive words."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.models import Base


class ArticleKind(enum.StrEnum):
    """What a knowledge-base article is."""

    POLICY = "policy"  # 政策解答
    CONTACT = "contact"  # 部门电话 and addresses
    STANDARD_REPLY = "standard_reply"  # 标准答复口径


class AlertKind(enum.StrEnum):
    """Why a hot-topic alert was raised."""

    SURGE = "surge"  # one topic well above its usual level within hours
    PLACE = "place"  # one place well above its usual level
    REPEAT = "repeat"  # the same issue from 3 or more callers
    SENSITIVE = "sensitive"  # a word on the office's list


class AlertState(enum.StrEnum):
    """Where the office is with an alert."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class KbArticle(Base):
    """One knowledge-base article, searchable by its segmented words."""

    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(64), index=True)
    owner: Mapped[str] = mapped_column(String(128))  # the department (or office) answerable
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    # the title and body cut into words (jieba), space-separated: what search matches
    search_words: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column()
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once by the mapper)


class SensitiveWord(Base):
    """A word the office wants to hear about at once (敏感词)."""

    __tablename__ = "sensitive_words"

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(64), unique=True)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True)


class HotTopicAlert(Base):
    """A surge, a repeated issue or a sensitive word, raised once per key and window."""

    __tablename__ = "hot_topic_alerts"
    __table_args__ = (UniqueConstraint("kind", "key", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))  # the topic's words, the place, the word
    title: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    raised_at: Mapped[datetime] = mapped_column(index=True)
    case_count: Mapped[int]
    baseline: Mapped[float | None]  # the usual count for such a window, when there is one
    details: Mapped[dict[str, Any] | None]
    state: Mapped[str] = mapped_column(String(16), default=AlertState.OPEN.value, index=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]


class HotTopicAlertCase(Base):
    """A case behind an alert."""

    __tablename__ = "hot_topic_alert_cases"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("hot_topic_alerts.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, index=True
    )
