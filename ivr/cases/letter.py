"""A letter to the public mailbox (市长信箱): its fields checked, and why one is refused.

Pure: `read_letter` takes what the form sent and gives a `Letter` or a `LetterRefused`
listing every problem in words for the citizen. The other refusals (form token, honeypot,
rate limits, duplicates) are raised by the web layer and the repository with the same
exception, so one place turns them into an HTTP answer.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime

from ivr.cases.extract import extract_phone
from ivr.errors import IvrError

NAME_LIMIT = 32
PHONE_LIMIT = 32
ADDRESS_LIMIT = 100
SUBJECT_LIMIT = 50
CONTENT_LIMIT = 2000
CONTENT_MINIMUM = 10
FIELD_LABELS = {
    "name": "姓名",
    "phone": "联系电话",
    "address": "事发地点",
    "subject": "标题",
    "content": "来信内容",
}
LIMITS = {
    "name": NAME_LIMIT,
    "phone": PHONE_LIMIT,
    "address": ADDRESS_LIMIT,
    "subject": SUBJECT_LIMIT,
    "content": CONTENT_LIMIT,
}
# What a phone field may hold besides digits: +86, spaces, dashes, brackets round an area code.
_PHONE_TEXT = re.compile(r"[0-9+\-() ]+")
# A web address: with a scheme, www., or a bare host name ending in a top-level domain.
_LINK = re.compile(r"(?:https?://|www\.)\S+|(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?", re.IGNORECASE)
# Control characters other than line breaks and tabs: invisible, and NUL breaks PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Refusal(enum.StrEnum):
    """Why a letter or a look-up is refused."""

    MALFORMED = "malformed"  # an unreadable body; honeypot filled; a bad form token
    TOO_LARGE = "too_large"  # more than the server reads
    INVALID = "invalid"  # a field missing, too long or not what it should be
    DUPLICATE = "duplicate"  # the same letter again within the hour
    THROTTLED = "throttled"  # too many letters or look-ups from this address lately
    NOT_FOUND = "not_found"  # no letter has this query code
    FOREIGN = "foreign"  # sent from a page of another site (a form planted elsewhere)


class LetterRefused(IvrError):
    """A letter or query-code look-up the mailbox refuses; the message is for the citizen."""

    def __init__(self, kind: Refusal, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_at = retry_at  # THROTTLED: when the address may try again


@dataclasses.dataclass(frozen=True)
class Letter:
    """A letter whose fields passed the checks (phone normalised, text cleaned)."""

    name: str | None
    phone: str
    address: str | None
    subject: str
    content: str
    whistleblower: bool

    @property
    def text(self) -> str:
        """The letter as the draft's transcript and the classifier's input."""
        return f"{self.subject}\n{self.content}"


def read_letter(form: Mapping[str, str]) -> Letter:
    """The letter in a submitted form; LetterRefused (INVALID) naming every problem."""
    values = {name: clean(form.get(name, "")) for name in FIELD_LABELS}
    problems = [
        f"{FIELD_LABELS[name]}最多 {limit} 个字（现有 {len(values[name])} 个字）"
        for name, limit in LIMITS.items()
        if len(values[name]) > limit
    ]
    phone = phone_number(values["phone"])
    if not values["phone"]:
        problems.append("请填写联系电话，以便我们联系您")
    elif phone is None:
        problems.append("联系电话格式不对：请填写手机号（如 13812345678）或带区号的固定电话")
    problems += _content_problems(values["subject"], values["content"])
    if not form.get("consent"):
        problems.append("请勾选同意条款后再提交")
    if problems or phone is None:
        raise LetterRefused(Refusal.INVALID, "；".join(problems) + "。")
    return Letter(
        name=values["name"] or None,
        phone=phone,
        address=values["address"] or None,
        subject=values["subject"],
        content=values["content"],
        whistleblower=bool(form.get("whistleblower")),
    )


def clean(value: str) -> str:
    """A form value with Windows line breaks and invisible control characters removed."""
    return _CONTROL.sub("", value.replace("\r\n", "\n")).strip()


def phone_number(text: str) -> str | None:
    """A mainland phone number (mobile, or landline with or without area code), or None."""
    plain = unicodedata.normalize("NFKC", text).strip()  # full-width digits from an IME
    if not _PHONE_TEXT.fullmatch(plain):
        return None
    return extract_phone(plain.replace("(", "").replace(")", ""))


def only_links(text: str) -> bool:
    """Whether a text holds web addresses and nothing else worth reading."""
    plain = unicodedata.normalize("NFKC", text)
    if not _LINK.search(plain):
        return False
    return not any(char.isalnum() for char in _LINK.sub("", plain))


def _content_problems(subject: str, content: str) -> list[str]:
    problems = []
    if not subject:
        problems.append("请填写标题")
    if not content:
        problems.append("请填写来信内容")
    elif only_links(content):
        problems.append("来信内容不能只有网址链接，请用文字写明您反映的问题")
    elif len(content) < CONTENT_MINIMUM:
        problems.append(f"来信内容太短，请至少写 {CONTENT_MINIMUM} 个字，说明问题和地点")
    return problems
