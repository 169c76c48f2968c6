"""The public mailbox's letter form through the real app factory and a real database.

Every test runs on SQLite and on PostgreSQL. A letter becomes one mailbox draft with its
classification and the query code's hash; every refusal answers with a clear 4xx in
Chinese, shows the form again with what was typed, and files nothing. Another client
address is a real one: a second client connects from 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import re
import stat
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from html import unescape
from pathlib import Path
from unittest.mock import MagicMock

import pytest
from aiohttp import ClientResponse, TCPConnector, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.cases.draft import CaseDraftSuggestion
from ivr.db.channel_models import PublicRequest
from ivr.db.models import Case, CaseEvent, Role
from ivr.settings import Settings
from ivr.web import mailbox_public
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.state import ConsolePolicy
from tests.test_web_console import FakeClock, add_user, cheap_hashing, login

__all__ = ["cheap_hashing"]  # the fixture shared with test_web_console (cheap argon2id)

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[web.Request, web.Application]
TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
CODE = re.compile(r'id="query-code">([A-Z0-9-]+)<')
STREETLIGHT = "人民路12号门口的路灯坏了三天，晚上很黑，老人孩子出门不安全，请尽快修理。"


def a_phone() -> str:
    """A mobile number no other test writes from (repeat writers are 重要件)."""
    return f"138{uuid.uuid4().int % 10**8:08d}"


def a_letter(**changes: str | None) -> dict[str, str]:
    """What a citizen types into the form; a None value leaves the field out."""
    fields: dict[str, str | None] = {
        "name": "张三",
        "phone": a_phone(),
        "address": "人民路12号",
        "subject": "路灯不亮",
        "content": STREETLIGHT,
        "consent": "1",
        **changes,
    }
    return {name: value for name, value in fields.items() if value is not None}


@dataclasses.dataclass
class Citizen:
    """A browser-less citizen at one client address, and the server's clock."""

    client: Client
    clock: FakeClock

    async def token(self) -> str:
        """Open the form; the form token it carries."""
        response = await self.client.get("/mailbox")
        assert response.status == 200
        found = TOKEN.search(await response.text())
        assert found is not None
        return found.group(1)

    async def send(
        self,
        letter: dict[str, str],
        *,
        typing: float = 20,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Open the form, type for `typing` seconds, send it (with these request headers)."""
        token = await self.token()
        self.clock.advance(seconds=typing)
        data = {"form_token": token, **letter}
        return await self.client.post("/mailbox", data=data, headers=headers)

    def origin(self) -> str:
        """The origin the server is reached at (what a browser on its pages would send)."""
        return str(self.client.make_url("/")).rstrip("/")

    async def sent_code(self, letter: dict[str, str]) -> str:
        """Send a letter that must be filed; the query code shown."""
        response = await self.send(letter)
        page = await response.text()
        assert response.status == 201, page
        found = CODE.search(page)
        assert found is not None
        return found.group(1)

    async def query(self, code: str) -> ClientResponse:
        """Look a query code up."""
        return await self.client.post("/mailbox/query", data={"code": code})


CitizenFactory = Callable[..., Awaitable[Citizen]]


@pytest.fixture
def clock(fresh_instant: Callable[[], datetime]) -> FakeClock:
    """This test's clock, on a day of its own."""
    return FakeClock(fresh_instant())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Defaults, with the state directory (where the form secret is made) of this test."""
    return Settings(state_dir=tmp_path / "var")


@pytest.fixture
def mailbox_db(db_sessionmaker: Sessions) -> Sessions:
    """The database the mailbox's server uses (a module may want one of its own)."""
    return db_sessionmaker


@pytest.fixture
def citizens(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    aiohttp_client: Callable[..., Awaitable[Client]],
    mailbox_db: Sessions,
    settings: Settings,
    clock: FakeClock,
) -> CitizenFactory:
    """Clients of one server (the real app), each from the client address given."""
    servers: list[TestServer] = []

    async def build(address: str = "127.0.0.1") -> Citizen:
        if not servers:
            made = make_app(lambda: {}, db=mailbox_db, settings=settings, clock=clock)
            servers.append(await aiohttp_server(made))
        connector = TCPConnector(local_addr=(address, 0))
        return Citizen(await aiohttp_client(servers[0], connector=connector), clock)

    return build


async def case_count(sm: Sessions) -> int:
    """Every case in the database."""
    async with sm() as session:
        return int(await session.scalar(select(func.count(Case.id))) or 0)


async def the_case(sm: Sessions, code: str) -> Case:
    """The case a query code belongs to, looked up the way the database stores it."""
    digest = hashlib.sha256(code.replace("-", "").encode()).hexdigest()
    async with sm() as session:
        found = await session.scalar(select(Case).where(Case.query_code_hash == digest))
    assert found is not None
    return found


async def actions_now(sm: Sessions, citizen: Citizen) -> list[str]:
    """The requests counted at the citizen's clock's time (a day no other test uses)."""
    async with sm() as session:
        query = select(PublicRequest.action).where(PublicRequest.at == citizen.clock())
        return sorted(await session.scalars(query))


async def error_of(response: ClientResponse) -> str:
    """The message of a refused form's error box."""
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', await response.text())
    assert found is not None, await response.text()
    return unescape(found.group(1))


def test_the_mailbox_is_public() -> None:
    app = make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy())
    access = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/mailbox")
    }
    methods = ("GET", "HEAD", "POST")
    assert set(access) == {(m, p) for m in methods for p in ("/mailbox", "/mailbox/query")}
    assert set(access.values()) == {"public"}


async def test_a_letter_becomes_one_classified_mailbox_draft(
    citizens: CitizenFactory, db_sessionmaker: Sessions, settings: Settings
) -> None:
    citizen = await citizens()
    before = await case_count(db_sessionmaker)
    letter = a_letter(whistleblower=None)
    code = await citizen.sent_code(letter)

    assert await case_count(db_sessionmaker) == before + 1
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", code)
    case = await the_case(db_sessionmaker, code)
    assert (case.status, case.channel, case.number) == ("draft", "mailbox", None)
    assert case.transcript == f"路灯不亮\n{STREETLIGHT}" and case.transcript_available
    assert (case.category, case.department) == ("urban", "市城管执法局")
    assert case.caller_number == case.contact_phone == letter["phone"]
    assert (case.caller_name, case.address, case.whistleblower) == ("张三", "人民路12号", False)
    assert case.summary.startswith("路灯不亮：人民路12号门口的路灯坏了三天")
    async with db_sessionmaker() as session:
        events = list(await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)))
        counted = list(
            await session.scalars(select(PublicRequest).where(PublicRequest.at == citizen.clock()))
        )
    assert [(e.kind, e.actor) for e in events] == [("created", "mailbox")]
    assert "query_code_hash" not in (events[0].after or {})  # not even the hash in the trail
    assert [row.action for row in counted] == ["submit"]
    assert len(counted[0].client_key) == 64 and "127.0.0.1" not in counted[0].client_key
    secret = settings.state_dir / "secrets" / "form_secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


async def test_the_code_is_shown_once_and_only_its_hash_is_stored(
    citizens: CitizenFactory, db_sessionmaker: Sessions
) -> None:
    citizen = await citizens()
    code = await citizen.sent_code(a_letter())
    case = await the_case(db_sessionmaker, code)
    assert case.query_code_hash is not None and code not in case.query_code_hash
    form = await (await citizen.client.get("/mailbox")).text()
    assert code not in form


# --- refusals ------------------------------------------------------------------------------

REFUSALS: list[tuple[str, dict[str, str | None], float, int, str]] = [
    ("honeypot filled", {"homepage": "http://spam.example"}, 20, 400, "必须留空"),
    ("posted too fast", {}, 1, 400, "提交太快了"),
    ("posted hours later", {}, 5 * 3600, 400, "已过期"),
    ("forged token", {"form_token": "9999999999.forged"}, 20, 400, "校验未通过"),
    ("missing token", {"form_token": ""}, 20, 400, "表单不完整"),
    ("non-ASCII token", {"form_token": "1.签名"}, 20, 400, "校验未通过"),
    ("missing phone", {"phone": None}, 20, 422, "请填写联系电话"),
    ("not a phone", {"phone": "12345"}, 20, 422, "联系电话格式不对"),
    ("letters in the phone", {"phone": "138abc12345"}, 20, 422, "联系电话格式不对"),
    ("no subject", {"subject": "  "}, 20, 422, "请填写标题"),
    ("no content", {"content": ""}, 20, 422, "请填写来信内容"),
    ("content too short", {"content": "路灯坏了"}, 20, 422, "至少写 10 个字"),
    ("content too long", {"content": "路" * 2001}, 20, 422, "来信内容最多 2000 个字"),
    ("subject too long", {"subject": "灯" * 51}, 20, 422, "标题最多 50 个字"),
    ("name too long", {"name": "张" * 33}, 20, 422, "姓名最多 32 个字"),
    ("address too long", {"address": "路" * 101}, 20, 422, "事发地点最多 100 个字"),
    (
        "links only",
        {"content": "https://spam.example/a www.spam.example spam.example/b"},
        20,
        422,
        "不能只有网址链接",
    ),
    ("no consent", {"consent": None}, 20, 422, "请勾选同意条款"),
]


@pytest.mark.parametrize(
    ("changes", "typing", "status", "message"),
    [case[1:] for case in REFUSALS],
    ids=[case[0] for case in REFUSALS],
)
async def test_a_refused_letter_files_nothing_and_keeps_what_was_typed(
    citizens: CitizenFactory,
    db_sessionmaker: Sessions,
    changes: dict[str, str | None],
    typing: float,
    status: int,
    message: str,
) -> None:
    """Bad input: each refusal of the list above, one at a time."""
    citizen = await citizens()
    before = await case_count(db_sessionmaker)
    letter = a_letter(**changes)
    token = await citizen.token()
    citizen.clock.advance(seconds=typing)
    response = await citizen.client.post("/mailbox", data={"form_token": token, **letter})

    assert response.status == status
    assert message in await error_of(response)
    page = await response.text()
    for name in ("subject", "address"):
        if letter.get(name, "").strip():
            assert f'value="{letter[name]}"' in page, name  # shown again as typed
    assert letter.get("content", "") in page
    assert TOKEN.search(page) is not None  # a fresh token to send it again with
    assert await case_count(db_sessionmaker) == before
    async with db_sessionmaker() as session:
        actions = await session.scalars(
            select(PublicRequest.action).where(PublicRequest.at == citizen.clock())
        )
        assert list(actions) == ["rejected"]


async def test_an_oversized_body_is_a_413_page_in_chinese(
    citizens: CitizenFactory, db_sessionmaker: Sessions
) -> None:
    """Bad input: 100 KiB of content (the app reads at most 64 KiB)."""
    citizen = await citizens()
    before = await case_count(db_sessionmaker)
    response = await citizen.send(a_letter(content="路" * 100_000))
    assert response.status == 413
    assert "提交的内容过大（上限 64 KB）" in await error_of(response)
    assert 'id="letter-form"' in await response.text()  # the form again, to send less
    assert await case_count(db_sessionmaker) == before


async def test_the_same_letter_twice_within_the_hour_is_refused(
    citizens: CitizenFactory, db_sessionmaker: Sessions
) -> None:
    """Bad input: the same letter sent again (a reload of the thank-you page, say)."""
    citizen = await citizens()
    letter = a_letter()
    await citizen.sent_code(letter)
    before = await case_count(db_sessionmaker)
    again = await citizen.send(letter)
    assert again.status == 409
    assert "已经提交过了" in await error_of(again)
    assert await case_count(db_sessionmaker) == before
    assert await actions_now(db_sessionmaker, citizen) == ["rejected"]  # no longer a letter
    other = await citizen.send(a_letter(phone=letter["phone"], subject="路灯还是不亮"))
    assert other.status == 201, "a different letter from the same writer is fine"
    citizen.clock.advance(hours=1)
    assert (await citizen.send(letter)).status == 201, "an hour later it is a new letter"


async def test_a_flood_from_one_address_is_refused_while_another_still_writes(
    citizens: CitizenFactory, db_sessionmaker: Sessions
) -> None:
    """Bad input: a sixth letter within the hour from one address (the limit is five)."""
    flooder, neighbour = await citizens("127.0.0.1"), await citizens("127.0.0.2")
    for _ in range(5):
        await flooder.sent_code(a_letter())
    before = await case_count(db_sessionmaker)
    refused = await flooder.send(a_letter(subject="第六封"))
    assert refused.status == 429
    assert "提交过于频繁" in await error_of(refused)
    assert 'value="第六封"' in await refused.text()
    retry = int(refused.headers["Retry-After"])
    assert retry == 3600 - 5 * 20  # until the first letter, 100 s ago, leaves the hour
    assert await case_count(db_sessionmaker) == before
    await neighbour.sent_code(a_letter())  # another address is not held up
    flooder.clock.advance(seconds=retry)
    await flooder.sent_code(a_letter())  # the first letter has left the hour


async def test_refused_attempts_are_limited_too(
    citizens: CitizenFactory, db_sessionmaker: Sessions
) -> None:
    """Bad input: twenty refused letters (4 per letter allowed), then a good one."""
    citizen = await citizens()
    for _ in range(20):
        assert (await citizen.send(a_letter(homepage="x"))).status == 400
    before = await case_count(db_sessionmaker)
    response = await citizen.send(a_letter())
    assert response.status == 429 and "Retry-After" in response.headers
    assert await case_count(db_sessionmaker) == before


async def test_a_logged_in_console_user_may_write_too(
    citizens: CitizenFactory, db_sessionmaker: Sessions
) -> None:
    """The session middleware wants a CSRF token on a session's POST: the form has it."""
    citizen = await citizens()
    await login(citizen.client, await add_user(db_sessionmaker, Role.AGENT))
    page = await (await citizen.client.get("/mailbox")).text()
    token = TOKEN.search(page)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None and csrf is not None
    citizen.clock.advance(seconds=20)
    data = {"form_token": token.group(1), "csrf_token": csrf.group(1), **a_letter()}
    assert (await citizen.client.post("/mailbox", data=data)).status == 201


async def test_a_burst_from_one_address_is_classified_only_as_far_as_the_limit(
    citizens: CitizenFactory, db_sessionmaker: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad input: eight letters at once from one address (the limit is five an hour)."""
    classified: list[str] = []
    real = mailbox_public._classify

    def counted(text: str, repeat: bool) -> CaseDraftSuggestion:
        classified.append(text)
        time.sleep(0.2)  # a slow classification: the other letters arrive meanwhile
        return real(text, repeat)

    monkeypatch.setattr(mailbox_public, "_classify", counted)
    citizen = await citizens()
    tokens = [await citizen.token() for _ in range(8)]
    citizen.clock.advance(seconds=20)
    before = await case_count(db_sessionmaker)
    sent = [
        citizen.client.post("/mailbox", data={"form_token": token, **a_letter(subject=f"第{n}封")})
        for n, token in enumerate(tokens)
    ]
    responses = await asyncio.gather(*sent)

    assert sorted(response.status for response in responses) == [201] * 5 + [429] * 3
    assert len(classified) == 5  # the refused three were never classified
    assert await case_count(db_sessionmaker) == before + 5
    assert await actions_now(db_sessionmaker, citizen) == ["submit"] * 5  # nor counted


async def test_a_token_is_good_only_from_the_address_it_was_handed_to(
    citizens: CitizenFactory, db_sessionmaker: Sessions
) -> None:
    """Bad input: a token fetched once and planted in a page its visitors send from."""
    fetcher, visitor = await citizens("127.0.0.1"), await citizens("127.0.0.2")
    token = await fetcher.token()
    fetcher.clock.advance(seconds=20)
    before = await case_count(db_sessionmaker)
    letter = a_letter()
    refused = await visitor.client.post("/mailbox", data={"form_token": token, **letter})
    assert refused.status == 400
    assert "校验未通过" in await error_of(refused)
    assert await case_count(db_sessionmaker) == before
    # the form shown again carries a token of the visitor's own: with it the letter goes
    found = TOKEN.search(await refused.text())
    assert found is not None
    visitor.clock.advance(seconds=20)
    again = await visitor.client.post("/mailbox", data={"form_token": found.group(1), **letter})
    assert again.status == 201


# --- posts from other sites' pages, and bodies that cannot be read ---------------------------

FOREIGN = {
    "another site": {"Origin": "https://evil.example"},
    "another port": {"Origin": "http://127.0.0.1:1"},
    "cross-site fetch": {"Sec-Fetch-Site": "cross-site"},
    "sandboxed page": {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    "sibling site": {"Origin": "null", "Sec-Fetch-Site": "same-site"},
}


@pytest.mark.parametrize("path", ["/mailbox", "/mailbox/query"])
@pytest.mark.parametrize("headers", FOREIGN.values(), ids=FOREIGN)
async def test_a_post_from_another_sites_page_is_refused_and_counts_nothing(
    citizens: CitizenFactory, db_sessionmaker: Sessions, headers: dict[str, str], path: str
) -> None:
    """Bad input: a form planted on another site, sent by each visitor's own browser."""
    citizen = await citizens()
    token = await citizen.token()
    citizen.clock.advance(seconds=20)
    before = await case_count(db_sessionmaker)
    data = {"form_token": token, "code": "ABCD-EFGH-JKMN", **a_letter()}
    response = await citizen.client.post(path, data=data, headers=headers)
    assert response.status == 403
    assert "来自其他网站的页面" in await error_of(response)
    assert await case_count(db_sessionmaker) == before
    # the visitors' own limits are not used up by a page they happened to open
    assert await actions_now(db_sessionmaker, citizen) == []


OWN = {
    "a script (no headers)": {},
    # what Chromium sends from our page, which has Referrer-Policy no-referrer
    "our page in a browser": {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    "our origin": {"Origin": "OWN", "Sec-Fetch-Site": "same-origin"},
}


@pytest.mark.parametrize("headers", OWN.values(), ids=OWN)
async def test_a_post_from_the_sites_own_page_is_filed(
    citizens: CitizenFactory, headers: dict[str, str]
) -> None:
    citizen = await citizens()
    sent = {name: citizen.origin() if value == "OWN" else value for name, value in headers.items()}
    response = await citizen.send(a_letter(), headers=sent)
    assert response.status == 201, await response.text()


async def test_behind_a_proxy_the_public_origin_is_the_sites_own(
    aiohttp_client: Callable[..., Awaitable[Client]],
    db_sessionmaker: Sessions,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    """Bad input: a page that names the address the proxy forwards to as its origin."""
    public = "https://hotline.example.gov.cn"
    settings = Settings(state_dir=tmp_path / "var", web_public_origin=public)
    app = make_app(lambda: {}, db=db_sessionmaker, settings=settings, clock=clock)
    citizen = Citizen(await aiohttp_client(app), clock)
    assert (await citizen.send(a_letter(), headers={"Origin": public})).status == 201
    direct = await citizen.send(a_letter(), headers={"Origin": citizen.origin()})
    assert direct.status == 403


UNREADABLE = {
    "invalid UTF-8": ("application/x-www-form-urlencoded", b"subject=\xff\xfe&consent=1"),
    "unknown charset": ("application/x-www-form-urlencoded; charset=no-such-code", b"x=1"),
    "broken multipart": ("multipart/form-data; boundary=xyz", b"no boundary in here"),
}


@pytest.mark.parametrize("path", ["/mailbox", "/mailbox/query"])
@pytest.mark.parametrize(("content_type", "body"), UNREADABLE.values(), ids=UNREADABLE)
async def test_an_unreadable_body_is_a_400_page_in_chinese(
    citizens: CitizenFactory,
    db_sessionmaker: Sessions,
    content_type: str,
    body: bytes,
    path: str,
) -> None:
    """Bad input: bytes that are not UTF-8, a charset nobody knows, a multipart body
    without its boundary."""
    citizen = await citizens()
    before = await case_count(db_sessionmaker)
    response = await citizen.client.post(path, data=body, headers={"Content-Type": content_type})
    assert response.status == 400
    assert "无法读取" in await error_of(response)
    assert await case_count(db_sessionmaker) == before
    counted = await actions_now(db_sessionmaker, citizen)
    assert counted == (["rejected"] if path == "/mailbox" else [])  # a refused letter counts
