"""How the knowledge base cuts text into search terms: jieba's search mode, without stop
words, punctuation or single characters.

Search mode gives a word and the dictionary words inside it (住房公积金 → 住房, 公积金,
住房公积金), so a citizen's wording still meets the article's. The tokenizer is passed in:
the taxonomy's, which knows the hotline's words (人社局, 燃气泄漏); building it takes about a
second, so callers load it once and cut off the event loop.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol

from ivr.cases.taxonomy import normalize_text

# Question words and callers' filler: in nearly every question, so they find nothing.
_STOP_TEXT = """
    你好 您好 请问 咨询 问问 问一下 想问 我想 想要 一下 怎么 怎么样 怎样 如何 什么 哪些 哪里
    哪个 多少 几个 需要 可以 能否 能不能 是不是 有没有 是否 这个 那个 这些 那些 这样 那样
    我们 你们 他们 就是 然后 还是 但是 因为 所以 已经 现在 时候 的话 知道 不知道 谢谢 麻烦
    一个 没有 还有 或者 以及 关于 对于 应该 其他 如果 为什么 了解 告诉 帮忙 热线 不能 能够
    可能 一直 我家 怎么办 办法
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
# A term holds at least one letter, digit or CJK character (punctuation is no term).
_MEANINGFUL = re.compile(r"[0-9a-z\u3400-\u9fff]")


class Tokenizer(Protocol):
    """What the knowledge base needs of a jieba tokenizer."""

    def lcut_for_search(self, sentence: str, HMM: bool = True) -> list[str]:
        """Cut a sentence in search mode."""
        ...


def terms(tokenizer: Tokenizer, text: str) -> list[str]:
    """The search terms of `text` in order, repeats kept (they count)."""
    plain = normalize_text(unicodedata.normalize("NFKC", text).lower())
    # without the HMM an unknown word falls apart into characters, which are dropped below,
    # instead of being glued into a made-up word (市人社局 → 市人 + 社局)
    return [word for word in tokenizer.lcut_for_search(plain, HMM=False) if _is_term(word)]


def search_words(tokenizer: Tokenizer, title: str, body: str) -> str:
    """The `search_words` column of an article: its title's and body's terms, space-separated."""
    return " ".join(terms(tokenizer, title) + terms(tokenizer, body))


def _is_term(word: str) -> bool:
    # A single character says too little (的, 交, 证) and would match nearly everything.
    return (
        len(word) > 1
        and word.strip() == word
        and bool(_MEANINGFUL.search(word))
        and (word not in STOP_WORDS)
    )
