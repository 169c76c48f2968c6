"""A suggested case draft for an agent or the call flow: classification plus extraction.

This is what `ivr case draft --text "..."` prints; it is a suggestion, never a filed case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ivr.cases.classify import classify
from ivr.cases.extract import extract_address, extract_phone
from ivr.cases.taxonomy import Taxonomy, normalize_text

SUMMARY_LENGTH = 80


@dataclass(frozen=True)
class CaseDraftSuggestion:
    """Where a request should go, how urgent it is, and what was picked out of it."""

    category_code: str
    category_name: str
    department: str
    priority_code: str
    priority_label: str
    matched_keywords: tuple[str, ...]
    phone: str | None
    address: str | None
    summary: str

    def to_json_dict(self) -> dict[str, str | list[str] | None]:
        """A plain dict for json.dumps (keywords as a list, Chinese left as is)."""
        fields = asdict(self)
        fields["matched_keywords"] = list(self.matched_keywords)
        return fields


def case_draft(
    text: str, taxonomy: Taxonomy, *, repeat_caller: bool = False
) -> CaseDraftSuggestion:
    """Classify a transcript or typed request and extract its phone, address and summary."""
    # An empty transcript (ASR unavailable) still yields a draft: the fallback category,
    # normal priority unless the caller is a repeat caller, and an empty summary.
    result = classify(text, taxonomy, repeat_caller=repeat_caller)
    return CaseDraftSuggestion(
        category_code=result.category.code,
        category_name=result.category.name,
        department=result.department,
        priority_code=result.priority.code,
        priority_label=result.priority.label,
        matched_keywords=result.matched_keywords,
        phone=extract_phone(text),
        address=extract_address(text),
        summary=summarize(text),
    )


def summarize(text: str, limit: int = SUMMARY_LENGTH) -> str:
    """The text on one line, cut to `limit` characters with an ellipsis when longer."""
    text = normalize_text(text)
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"
