"""The office's sensitive words (敏感词): what makes a good one, and finding them in a case.

A word matches wherever it appears in the summary or the transcript, whatever the width of
its characters (ＡＢＣ, ABC), their case, or the spaces an ASR puts between words. Unlike
topics, this is an exact match on purpose: the office names the words it wants to hear of.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from ivr.db.insight_models import AlertKind
from ivr.errors import ValidationError
from ivr.hotspots.model import Finding, Signal

MIN_LENGTH, MAX_LENGTH = 2, 20
_SPACE = re.compile(r"\s+")
_MEANINGFUL = re.compile(r"[\w\u4e00-\u9fff]")


def normalized(text: str) -> str:
    """Text as words are matched in it: NFKC, lower case, no whitespace."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).lower())


def clean_word(raw: object) -> str:
    """A sensitive word as stored, or ValidationError saying (in Chinese) what is wrong."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValidationError("请填写敏感词")
    if _SPACE.search(raw.strip()) or any(unicodedata.category(c) == "Cc" for c in raw):
        raise ValidationError("敏感词不能包含空格、换行或控制字符")
    word = normalized(raw)
    if len(word) < MIN_LENGTH:
        raise ValidationError(f"敏感词至少 {MIN_LENGTH} 个字（单字会命中太多来电）")
    if len(word) > MAX_LENGTH:
        raise ValidationError(f"敏感词不能超过 {MAX_LENGTH} 个字")
    if not _MEANINGFUL.search(word):
        raise ValidationError("敏感词须含汉字、字母或数字")
    return word


def words_in(text: str, words: Iterable[str]) -> list[str]:
    """The words (already normalized) that occur in `text`, in the list's order."""
    plain = normalized(text)
    return [word for word in words if word in plain]


def sensitive_findings(signals: Iterable[Signal], words: Iterable[str]) -> list[Finding]:
    """One finding per case and word it contains: raised at once, one case each."""
    wanted = sorted(set(words))
    found = []
    for signal in signals:
        doc = signal.doc
        for word in words_in(f"{doc.summary} {doc.transcript}", wanted):
            found.append(
                Finding(
                    kind=AlertKind.SENSITIVE,
                    key=word,
                    title=f"来电含“{word}”",
                    window_start=doc.created_at,
                    window_end=doc.created_at,
                    case_ids=(doc.id,),
                    callers=1,
                    baseline=None,
                    details={"word": word},
                    continues_after=None,
                )
            )
    return found
