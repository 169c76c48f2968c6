"""Pull a callback number and an address out of a transcript or typed request.

Transcripts come from ASR, so digits are often Chinese numerals said one by one
("幺三八零零…") and words may be split by spaces; both are undone before matching.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from ivr.cases.taxonomy import base_tokenizer, normalize_text

_NUMERALS = "零〇一幺二两三四五六七八九"
_NUMERAL_DIGITS = str.maketrans(_NUMERALS, "0011223456789")
# Seven or more digits said in a row are a number being read out, not words like 一直.
_SPOKEN_NUMBER = re.compile(rf"[{_NUMERALS}0-9](?:\s*[{_NUMERALS}0-9]){{6,}}")
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ \-—]?[0-9])*(?![0-9])")
_MOBILE = re.compile(r"(?:86)?(1[3-9][0-9]{9})")
_LANDLINE = re.compile(r"(0(?:1[0-9]|2[0-9]|[3-9][0-9]{2}))([2-9][0-9]{6,7})")
_LOCAL = re.compile(r"[2-9][0-9]{6,7}")


def extract_phone(text: str) -> str | None:
    """The first mainland phone number in the text (13800138000, 0571-88886666), or None."""
    for run in _DIGIT_RUN.findall(_with_digits(text)):
        groups = re.split(r"[ \-—]", run)
        # A run may be one number read in groups, or several numbers side by side.
        for candidate in ("".join(groups), *groups):
            phone = _phone(candidate)
            if phone is not None:
                return phone
    return None


def _with_digits(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)  # full-width digits from IMEs and web forms

    def to_digits(match: re.Match[str]) -> str:
        return "".join(match.group(0).split()).translate(_NUMERAL_DIGITS)

    return _SPOKEN_NUMBER.sub(to_digits, text)


def _phone(digits: str) -> str | None:
    if match := _MOBILE.fullmatch(digits):
        return match.group(1)
    if match := _LANDLINE.fullmatch(digits):
        return f"{match.group(1)}-{match.group(2)}"
    if _LOCAL.fullmatch(digits):
        return digits
    return None


# Words that end a place name (西湖区, 文三路, 张家村) and words that follow one (幸福 小区).
_PLACE_ENDINGS = ("省", "市", "区", "县", "镇", "乡", "村", "路", "街", "道", "巷", "弄", "苑")
_PLACE_WORDS = frozenset(
    {"小区", "花园", "家园", "公寓", "新村", "大厦", "广场", "社区", "街道", "大道", "胡同"}
    | {"路", "街", "巷", "弄", "村", "镇", "区", "苑"}
)
_UNITS = frozenset(
    ("号", "号楼", "栋", "幢", "单元", "室", "楼", "层", "组", "弄", "期", "区", "排")
)
_NUMBER = rf"(?:[0-9]+|[{_NUMERALS}十百]+)"
_NUMBERED = re.compile(rf"{_NUMBER}(?:{'|'.join(sorted(_UNITS, key=len, reverse=True))})")
_NUMBER_ONLY = re.compile(_NUMBER)
# Pronouns and demonstratives start phrases like 我们小区, 这条街: a place, but no address.
_NOT_A_NAME = re.compile(
    r"^[我你他她它这那哪每整全各某本该]|^[0-9]|[^\u3400-\u9fff]|^[的了在是有和与跟到从把被给就都也还又很太]$"
)


def extract_address(text: str) -> str | None:
    """The longest address-like span (西湖区文三路100号, 幸福小区3栋2单元), or None."""
    tokens = [t for t in base_tokenizer().lcut(normalize_text(text), HMM=False) if t.strip()]
    best = ""
    span: list[_Part] = []
    i = 0
    while i < len(tokens):
        part = _part_at(tokens, i)
        if part is not None:
            span.append(part)
            i += part.size
            continue
        best = max(best, _address(span), key=len)
        span = []
        i += 1
    return max(best, _address(span), key=len) or None


class _Part(NamedTuple):
    text: str
    named: bool  # names a place (西湖区, 幸福小区) rather than numbering one (3栋)
    size: int  # tokens consumed


def _part_at(tokens: Sequence[str], i: int) -> _Part | None:
    token = tokens[i]
    following = tokens[i + 1] if i + 1 < len(tokens) else ""
    if _NUMBERED.fullmatch(token):
        return _Part(token, False, 1)
    if _NUMBER_ONLY.fullmatch(token) and following in _UNITS:
        return _Part(token + following, False, 2)
    if len(token) >= 3 and token.endswith(_PLACE_ENDINGS) and not _NOT_A_NAME.search(token):
        return _Part(token, True, 1)
    if len(token) < 2 or _NOT_A_NAME.search(token):
        return None
    if following in _PLACE_WORDS:
        return _Part(token + following, True, 2)
    # jieba splits rarer names (荷花 塘 社区); allow one more name piece before the place word.
    third = tokens[i + 2] if i + 2 < len(tokens) else ""
    if third in _PLACE_WORDS and following and not _NOT_A_NAME.search(following):
        return _Part(token + following + third, True, 3)
    return None


def _address(span: Sequence[_Part]) -> str:
    # A lone "3楼" or "一层" is a floor, not where the caller is; a named place is enough.
    if any(part.named for part in span) or len(span) >= 2:
        return "".join(part.text for part in span)
    return ""
