"""Query codes (查询码): what a mailbox citizen checks the progress of a letter with.

Twelve characters from 32 that cannot be mistaken for each other (no I, O, 0 or 1): 60 bits,
far beyond what a rate-limited guesser gets through. The code is shown once and stored
only as its SHA-256; what a citizen types back (lower case, spaces, dashes, full-width
letters from a Chinese input method) is read leniently.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 12
GROUP = 4  # shown as ABCD-EFGH-JKMN, easier to copy down
_IGNORED = str.maketrans("", "", " -_\t\r\n")


def new_code() -> str:
    """A fresh random query code (the bare twelve characters)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """The code in groups of four, as the citizen sees it."""
    return "-".join(code[i : i + GROUP] for i in range(0, len(code), GROUP))


def parse(text: str) -> str | None:
    """The bare code a citizen typed, or None when it cannot be one."""
    code = unicodedata.normalize("NFKC", text).translate(_IGNORED).upper()
    if len(code) != LENGTH or any(char not in ALPHABET for char in code):
        return None
    return code


def code_hash(code: str) -> str:
    """The SHA-256 (hex) under which a code is stored in `cases.query_code_hash`."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()
