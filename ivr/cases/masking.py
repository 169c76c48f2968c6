"""Whistleblowers (检举/举报): who may see the identity of the person who reported.

The office needs it (it calls the citizen back and answers for the protection); the agent or
leader who is taking the call or working the draft is already speaking with the caller. No
one else does: a department that handles the case never learns who reported it, and an
agent who opens a registered case later sees it masked. Pure functions: the web layer asks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ivr.db.models import CaseStatus, Role

MASK = "***"
# What identifies the reporter: their number, name and call-back number. The address is
# where the problem is, which the department needs.
IDENTITY_FIELDS = ("caller_number", "caller_name", "contact_phone")
# The reporter's own words (callers give their name and number while speaking): withheld.
VERBATIM_FIELDS = ("transcript", "excerpt")
WITHHELD = "（举报人原话含个人信息，已保密）"
# Written text keeps its substance, without anything that looks like a phone number
# (digits, or Chinese numerals as ASR writes them) or the reporter's stated name.
_DIGIT = "0-9０-９零〇幺一二三四五六七八九"
NUMBER_LIKE = re.compile(f"[{_DIGIT}][{_DIGIT}\\s-]{{5,}}")


def may_see_identity(role: Role, *, holds_case: bool, status: CaseStatus) -> bool:
    """Whether this viewer may see a whistleblower's identity on a case."""
    if role is Role.OFFICE:
        return True
    taking_the_call = role in (Role.AGENT, Role.LEADER)
    return taking_the_call and holds_case and status is CaseStatus.DRAFT


def masked(case: Mapping[str, object], *, whistleblower: bool, visible: bool) -> dict[str, object]:
    """The case fields as this viewer may see them (`identity_masked` says if they are)."""
    shown = dict(case)
    hide = whistleblower and not visible
    if hide:
        secrets = [str(shown[name]) for name in IDENTITY_FIELDS if shown.get(name)]
        for name in IDENTITY_FIELDS:
            if shown.get(name):
                shown[name] = MASK
        for name in VERBATIM_FIELDS:
            if shown.get(name):
                shown[name] = WITHHELD
        if isinstance(shown.get("summary"), str):
            shown["summary"] = redact(str(shown["summary"]), secrets)
    shown["identity_masked"] = hide
    return shown


def redact(text: str, secrets: list[str]) -> str:
    """Text without number-like runs or any of `secrets` (the reporter's name, numbers)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 2:
            text = text.replace(secret, MASK)
    return NUMBER_LIKE.sub(MASK, text)
