"""Where a request is about: the roads, communities and door numbers it names.

Pure and quick (regular expressions, no tokenizer), so the duplicate suggestions can read
hundreds of cases at once. A place is a name (人民路, 阳光小区) and the number that follows
it (12号, 3栋), Chinese numerals read as digits (十二号 → 12): two callers at 人民路12号
and 人民路十二号 are at the same place, one at 人民路200号 is not.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable

# What ends a street or community name. 道 alone is left out (知道, 街道办 are not places).
_ENDINGS = "大道|胡同|小区|花园|家园|公寓|新村|大厦|广场|社区|路|街|巷|弄|村|苑"
_NUMERALS = "零〇幺一二两三四五六七八九十百"
_NUMBER = rf"[0-9]+|[{_NUMERALS}]+"
_UNIT = "号楼|号院|号|栋|幢|座"
_PLACE = re.compile(
    rf"([\u4e00-\u9fff]{{1,6}}?)({_ENDINGS})(?:[的东西南北侧口边]{{0,2}}?({_NUMBER})({_UNIT}))?"
)
# Characters that cannot be part of a name: what comes before one in speech (我家楼下人民路,
# 在解放路) or an administrative unit (西湖区文三路). The name is what follows the last one.
_BEFORE_NAME = set(
    "我你他她它们这那哪在到从往去于与和及跟对向的了是有个条边上下里前后旁近家楼过走住门"
)
_BEFORE_NAME |= set("省市区县镇乡")
_DIGITS = dict(
    zip("零〇幺一二两三四五六七八九", (0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True)
)


@dataclasses.dataclass(frozen=True)
class Place:
    """A named street or community, and the door or building number given with it."""

    name: str
    number: int | None = None
    unit: str = dataclasses.field(default="号", compare=False)  # 3栋 and 3号楼 are one place

    def __str__(self) -> str:
        return self.name if self.number is None else f"{self.name}{self.number}{self.unit}"


def places_in(text: str | None) -> tuple[Place, ...]:
    """The places a text names, in order, each once."""
    if not text:
        return ()
    found: dict[Place, None] = {}
    for match in _PLACE.finditer(unicodedata.normalize("NFKC", text)):
        name = _trimmed(match.group(1))
        if len(name) < 2:  # 马路, 过路: a word, not a name
            continue
        number, unit = match.group(3), match.group(4)
        place = (
            Place(name + match.group(2), _number(number), unit)
            if number
            else Place(name + match.group(2))
        )
        found[place] = None
    return tuple(found)


def place_spans(text: str) -> list[tuple[int, int]]:
    """Where in the (NFKC-normalised) text its places are, to leave them out of the wording."""
    return [m.span() for m in _PLACE.finditer(text) if len(_trimmed(m.group(1))) >= 2]


def place_similarity(ours: Iterable[Place], theirs: Iterable[Place]) -> tuple[float, Place | None]:
    """How surely two cases are at one place (0 to 1), and the place they share."""
    best, shared = 0.0, None
    mine = list(ours)
    for other in theirs:
        for place in mine:
            if place.name != other.name:
                continue
            score = _same_name(place.number, other.number)
            if score > best:
                best = score
                shared = place if place.number == other.number else Place(place.name)
    return best, shared


def _same_name(one: int | None, other: int | None) -> float:
    # Neighbouring doors on one street are often the same spot told two ways; a number far
    # along the street is another spot, however alike the complaint.
    if one is None or other is None:
        return 0.7
    if one == other:
        return 1.0
    return 0.6 if abs(one - other) <= 4 else 0.3


def _trimmed(name: str) -> str:
    for index in range(len(name) - 1, -1, -1):
        if name[index] in _BEFORE_NAME:
            return name[index + 1 :]
    return name


def _number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if "十" not in text and "百" not in text:  # read digit by digit: 一二 → 12
        return int("".join(str(_DIGITS[c]) for c in text)) if text else None
    hundreds, _, rest = text.rpartition("百")
    tens, _, units = rest.rpartition("十")
    value = _digit(hundreds) * 100 if "百" in text else 0
    if "十" in rest:
        value += (_digit(tens) if tens.strip("零〇") else 1) * 10
    return value + _digit(units.strip("零〇") or "零")


def _digit(text: str) -> int:
    return _DIGITS.get(text[-1:], 0)
