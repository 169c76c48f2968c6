"""The mailbox's pure parts: query codes, a letter's checks, form tokens, keyed addresses,
and the form secret that several processes create at once and then share."""

from __future__ import annotations

import math
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.cases import query_code
from ivr.cases.letter import LetterRefused, Refusal, only_links, phone_number, read_letter
from ivr.errors import ConfigError
from ivr.settings import Settings
from ivr.web import form_token
from ivr.web.form_token import TokenProblem

NOW = datetime(2031, 3, 3, 2, 0, tzinfo=UTC)
SECRET = b"test secret"
CLIENT = form_token.client_key(SECRET, "203.0.113.7")
WINDOW = {"min_age": timedelta(seconds=3), "max_age": timedelta(hours=4)}
RACE = """
import sys, time
from pathlib import Path
from ivr.web.form_token import shared_secret
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(shared_secret(Path(sys.argv[1])).decode())
"""


def test_query_codes_have_sixty_bits_from_an_unambiguous_alphabet() -> None:
    assert len(set(query_code.ALPHABET)) == 32 and not set("IO01") & set(query_code.ALPHABET)
    assert math.log2(32**query_code.LENGTH) == 60
    codes = {query_code.new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(c) == 12 and set(c) <= set(query_code.ALPHABET) for c in codes)
    code = next(iter(codes))
    assert query_code.shown(code) == f"{code[:4]}-{code[4:8]}-{code[8:]}"


@pytest.mark.parametrize(
    "typed",
    ["ABCD-EFGH-JKMN", "abcd efgh jkmn", " ＡＢＣＤ－ＥＦＧＨ－ＪＫＭＮ ", "ABCDEFGHJKMN\n"],
)
def test_a_code_is_read_back_leniently(typed: str) -> None:
    assert query_code.parse(typed) == "ABCDEFGHJKMN"


@pytest.mark.parametrize(
    "typed", ["", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "ABCD-EFGH-JKM0", "工单"]
)
def test_what_cannot_be_a_code_is_none(typed: str) -> None:
    """Bad input: too short, too long, a 0 (not in the alphabet), Chinese."""
    assert query_code.parse(typed) is None


def test_only_the_hash_of_a_code_is_kept() -> None:
    digest = query_code.code_hash("ABCDEFGHJKMN")
    assert len(digest) == 64 and "ABCD" not in digest


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("0571-88886666", "0571-88886666"),
        ("(0571) 8888 6666", "0571-88886666"),
        ("88886666", "88886666"),
    ],
)
def test_phone_numbers_of_the_usual_shapes(typed: str, phone: str) -> None:
    assert phone_number(typed) == phone


@pytest.mark.parametrize("typed", ["12345", "138abc12345", "23812345678", "电话13812345678"])
def test_what_is_no_phone_number(typed: str) -> None:
    """Bad input: too short, letters inside, no mobile prefix, words around it."""
    assert phone_number(typed) is None


@pytest.mark.parametrize(
    "text", ["http://a.example", "www.spam.cn  https://x.example/?q=1", "spam.example/buy ！"]
)
def test_links_alone_are_no_letter(text: str) -> None:
    assert only_links(text)


@pytest.mark.parametrize("text", ["路灯坏了，见 http://a.example/photo", "价格 3.5 元", "无链接"])
def test_text_with_or_without_links_is_a_letter(text: str) -> None:
    assert not only_links(text)


def test_a_letter_lists_every_problem_at_once() -> None:
    """Bad input: no phone, a 51-character subject, no content, no consent."""
    with pytest.raises(LetterRefused) as caught:
        read_letter({"subject": "灯" * 51})
    assert caught.value.kind is Refusal.INVALID
    message = str(caught.value)
    for part in ("请填写联系电话", "标题最多 50 个字", "请填写来信内容", "请勾选同意条款"):
        assert part in message


def test_a_good_letter_is_cleaned() -> None:
    letter = read_letter(
        {
            "name": " ",
            "phone": "138 1234 5678",
            "subject": "路灯",
            "content": "人民路路灯坏了三天\r\n晚上很黑\x00",
            "whistleblower": "1",
            "consent": "1",
        }
    )
    assert letter.name is None and letter.phone == "13812345678"
    assert letter.content == "人民路路灯坏了三天\n晚上很黑" and letter.whistleblower
    assert letter.text == "路灯\n人民路路灯坏了三天\n晚上很黑"


def test_a_token_is_good_between_the_minimum_and_the_maximum_age() -> None:
    for later in (timedelta(seconds=3), timedelta(hours=4)):
        assert _problem(_token(), NOW + later) is None


def _redated() -> str:
    # a token from five hours ago with today's time put in: the signature no longer fits
    old = form_token.issue(SECRET, NOW - timedelta(hours=5), "mailbox", CLIENT)
    return str(int(NOW.timestamp())) + "." + old.partition(".")[2]


def _token(secret: bytes = SECRET, purpose: str = "mailbox", client: str = CLIENT) -> str:
    return form_token.issue(secret, NOW, purpose, client)


def _problem(token: str, at: datetime) -> TokenProblem | None:
    return form_token.token_problem(SECRET, token, at, "mailbox", CLIENT, **WINDOW)


SECONDS = timedelta(seconds=10)
BAD_TOKENS = {
    "missing": ("", SECONDS, TokenProblem.MISSING),
    "too fast": (_token(), timedelta(seconds=2), TokenProblem.TOO_FAST),
    "expired": (_token(), timedelta(hours=4, seconds=1), TokenProblem.EXPIRED),
    "other secret": (_token(b"another secret"), SECONDS, TokenProblem.FORGED),
    "other form": (_token(purpose="another form"), SECONDS, TokenProblem.FORGED),
    "other client": (
        _token(client=form_token.client_key(SECRET, "198.51.100.9")),
        SECONDS,
        TokenProblem.FORGED,
    ),
    "redated": (_redated(), SECONDS, TokenProblem.FORGED),
    "non-ascii": ("1.签名", SECONDS, TokenProblem.FORGED),
    "junk": ("no dot at all", SECONDS, TokenProblem.FORGED),
}


@pytest.mark.parametrize(("token", "later", "problem"), BAD_TOKENS.values(), ids=BAD_TOKENS)
def test_bad_tokens_say_what_is_wrong(token: str, later: timedelta, problem: TokenProblem) -> None:
    """Bad input: each way a form token can be wrong."""
    assert _problem(token, NOW + later) is problem


@pytest.mark.parametrize(
    ("remote", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (None, "unknown"),
    ],
)
def test_addresses_are_counted_by_network(remote: str | None, network: str) -> None:
    assert form_token.client_network(remote) == network


def test_an_address_is_stored_only_as_a_keyed_hash() -> None:
    key = form_token.client_key(SECRET, "203.0.113.7")
    assert len(key) == 64 and "203" not in key
    assert key != form_token.client_key(b"another secret", "203.0.113.7")
    assert key == form_token.client_key(SECRET, "203.0.113.7")


def test_a_configured_secret_wins_and_no_file_is_made(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, web_form_secret="from ivr.toml")
    assert form_token.form_secret(settings) == b"from ivr.toml"
    assert not form_token.secret_file(settings).exists()


def test_processes_starting_together_share_one_generated_secret(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secrets" / "form_secret"
    start = time.time() + 2  # every worker has imported by then, and they race for the file
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(path), repr(start)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    secrets = {worker.communicate(timeout=60)[0].strip() for worker in workers}
    assert len(secrets) == 1 and len(secrets.pop()) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["form_secret"]  # no drafts left over


def test_an_empty_secret_file_is_a_config_error(tmp_path: Path) -> None:
    """Bad input: a secret file someone emptied by hand."""
    path = tmp_path / "form_secret"
    path.write_text("\n")
    with pytest.raises(ConfigError, match="delete it"):
        form_token.shared_secret(path)
