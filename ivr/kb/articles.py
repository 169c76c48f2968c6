"""Knowledge-base articles: what one is, when it is in force, and the checks on what the
office types (each failure a ValidationError in the words the page shows).

An article is in force when it is active and today (the office's date, Asia/Shanghai)
lies within its validity dates; a missing date leaves that side open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from ivr.cases.taxonomy import Category, Taxonomy
from ivr.db.insight_models import ArticleKind
from ivr.errors import ValidationError
from ivr.workflow import inputs

TITLE_LIMIT = 200  # the column's
BODY_LIMIT = 8000  # a policy answer is a page or two; 8000 characters stay under the body limit
OWNER_LIMIT = 128  # the column's
KIND_LABELS = {
    ArticleKind.POLICY: "政策解答",
    ArticleKind.CONTACT: "部门电话",
    ArticleKind.STANDARD_REPLY: "标准答复",
}
FIELDS = ("title", "body", "kind", "category", "owner", "valid_from", "valid_until")
_REQUIRED = ("title", "body", "kind", "category", "owner")


@dataclasses.dataclass(frozen=True)
class ArticleFields:
    """What a person writes of an article."""

    title: str
    body: str
    kind: ArticleKind
    category: str
    owner: str
    valid_from: date | None = None
    valid_until: date | None = None


@dataclasses.dataclass(frozen=True)
class Article(ArticleFields):
    """A stored article."""

    id: int = 0
    active: bool = True
    version: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    updated_by: str = ""
    search_words: str = dataclasses.field(default="", repr=False)

    def in_force(self, today: date) -> bool:
        """Whether agents may answer with it on `today` (the office's date)."""
        if not self.active:
            return False
        started = self.valid_from is None or self.valid_from <= today
        return started and (self.valid_until is None or today <= self.valid_until)


def article_fields(
    raw: Mapping[str, object], categories: Collection[str], base: ArticleFields | None = None
) -> ArticleFields:
    """The article a request describes: a new one, or `base` with the fields `raw` gives."""
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ValidationError(f"文章没有这些字段：{'、'.join(unknown)}")
    if base is None:
        missing = [name for name in _REQUIRED if name not in raw]
        if missing:
            raise ValidationError(f"请填写：{'、'.join(_LABELS[name] for name in missing)}")
    changed: dict[str, Any] = {name: _checked(name, v, categories) for name, v in raw.items()}
    fields = dataclasses.replace(base, **changed) if base else ArticleFields(**changed)
    if fields.valid_from and fields.valid_until and fields.valid_until < fields.valid_from:
        raise ValidationError("有效期止不能早于有效期起")
    return fields


def consultation(taxonomy: Taxonomy) -> Category:
    """The taxonomy's category for consultations (咨询), else its fallback category."""
    for category in taxonomy.categories:
        if "咨询" in category.name:
            return category
    return taxonomy.category(taxonomy.fallback)


_LABELS = {
    "title": "标题",
    "body": "正文",
    "kind": "文章类型",
    "category": "分类",
    "owner": "责任单位",
    "valid_from": "有效期起",
    "valid_until": "有效期止",
}


def _checked(name: str, value: object, categories: Collection[str]) -> object:
    label = _LABELS[name]
    if name in ("valid_from", "valid_until"):
        if value is None or value == "":
            return None
        if not isinstance(value, str):  # JSON has no dates: 20310301 is a number, not a day
            raise ValidationError(f"{label}应写成 YYYY-MM-DD，如 2031-03-05")
        return inputs.a_date(value, label)
    if name == "kind":
        if not isinstance(value, str) or value not in {kind.value for kind in ArticleKind}:
            kinds = "、".join(f"{kind.value}（{text}）" for kind, text in KIND_LABELS.items())
            raise ValidationError(f"文章类型应为 {kinds} 之一")
        return ArticleKind(value)
    if name == "category":
        if not isinstance(value, str) or value not in categories:
            raise ValidationError(f"没有这个分类：{str(value)[:64]}")
        return value
    limits = {"title": TITLE_LIMIT, "body": BODY_LIMIT, "owner": OWNER_LIMIT}
    return inputs.text(value, label, limit=limits[name])
