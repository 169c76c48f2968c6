"""Console login, sessions and roles through the real app factory and a real database.

Every test runs on SQLite and on PostgreSQL. Each test has its own clock on a day no other
test uses, so login failures counted on the shared PostgreSQL database never mix.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from http.cookies import Morsel, SimpleCookie
from typing import Any, Literal

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ivr.db import users
from ivr.db.console_models import LoginFailure, WebSession
from ivr.db.models import Role
from ivr.db.web_sessions import token_digest
from ivr.web.app import make_app
from ivr.web.guard import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from ivr.web.pages import ROLE_HOME
from ivr.web.state import ConsolePolicy

pytest_plugins = ["tests.db_fixtures"]

Sessions = async_sessionmaker[AsyncSession]
Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]
PASSWORD = "correct horse battery"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: these tests are about the web, not the hash."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def clock(fresh_instant: Callable[[], datetime]) -> FakeClock:
    """This test's clock, on a day of its own."""
    return FakeClock(fresh_instant())


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Awaitable[Client]], db_sessionmaker: Sessions, clock: FakeClock
) -> ClientFactory:
    """Builds a test client from the real factory; keyword arguments go to ConsolePolicy."""

    async def build(db: Sessions = db_sessionmaker, **policy: Any) -> Client:
        app = make_app(lambda: {"ok": True}, db=db, policy=ConsolePolicy(**policy), clock=clock)
        return await aiohttp_client(app)

    return build


@pytest.fixture
async def client(make_client: ClientFactory) -> Client:
    """A client of the console with the default policy."""
    return await make_client()


async def add_user(
    sm: Sessions, role: Role, *, display_name: str | None = None, interface: str | None = None
) -> str:
    """A fresh user with PASSWORD (department users in 城管局); its username."""
    name = f"{role.value}-{uuid.uuid4().hex[:10]}"
    department = "城管局" if role is Role.DEPARTMENT else None
    await users.create_user(
        sm,
        name,
        PASSWORD,
        role.value,
        display_name=display_name,
        interface=interface,
        department=department,
    )
    return name


async def login(client: Client, username: str, password: str = PASSWORD) -> ClientResponse:
    """Fill in and post the login form as a browser would."""
    form = await client.get("/login")
    found = CSRF_FIELD.search(await form.text())
    assert found is not None
    data = {"csrf_token": found.group(1), "username": username, "password": password}
    return await client.post("/login", data=data, allow_redirects=False)


async def logged_out(client: Client) -> Client:
    """The same client after logging out (for a second login attempt)."""
    token = csrf_of(await (await client.get("/")).text())
    await client.post("/logout", data={"csrf_token": token})
    return client


def cookie(response: ClientResponse, name: str) -> Morsel[str]:
    """The Set-Cookie of `name` in a response."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie", []):
        jar.load(header)
    return jar[name]


def csrf_of(page: str) -> str:
    """The CSRF token a page carries."""
    found = CSRF_FIELD.search(page)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("role", list(Role))
async def test_login_sets_a_strict_http_only_cookie_and_home_redirects_by_role(
    client: Client, db_sessionmaker: Sessions, role: Role
) -> None:
    name = await add_user(db_sessionmaker, role, display_name="王小丽")
    response = await login(client, name)
    assert (response.status, response.headers["Location"]) == (303, "/")
    session = cookie(response, SESSION_COOKIE)
    assert session["httponly"] and session["samesite"] == "Strict" and session["path"] == "/"
    assert not session["secure"], "plain-HTTP development must still get its cookie"
    home = await client.get("/", allow_redirects=False)
    assert (home.status, home.headers["Location"]) == (302, ROLE_HOME[role])
    landing = await client.get(ROLE_HOME[role])
    text = await landing.text()
    assert landing.status == 200 and "王小丽" in text and name in text
    assert "$argon2" not in text and PASSWORD not in text


async def test_cookies_are_secure_when_web_secure_cookies_is_set(
    make_client: ClientFactory, db_sessionmaker: Sessions
) -> None:
    client = await make_client(secure_cookies=True)
    form = await client.get("/login")
    pre_session = cookie(form, LOGIN_CSRF_COOKIE)
    assert pre_session["secure"] and pre_session["httponly"]
    # The test speaks plain HTTP, so its cookie jar withholds Secure cookies: send it by hand.
    data = {"csrf_token": pre_session.value, "password": PASSWORD}
    data["username"] = await add_user(db_sessionmaker, Role.AGENT)
    headers = {"Cookie": f"{LOGIN_CSRF_COOKIE}={pre_session.value}"}
    response = await client.post("/login", data=data, headers=headers, allow_redirects=False)
    assert response.status == 303
    assert cookie(response, SESSION_COOKIE)["secure"]


async def test_wrong_password_and_unknown_user_get_the_same_401_page(
    client: Client, db_sessionmaker: Sessions
) -> None:
    """Bad input: a wrong password for a real user, and a username nobody has."""
    name = await add_user(db_sessionmaker, Role.AGENT)
    wrong = await login(client, name, "not the password")
    unknown = await login(client, "nobody-" + name, PASSWORD)
    assert wrong.status == unknown.status == 401
    wrong_text, unknown_text = await wrong.text(), await unknown.text()
    assert "用户名或密码错误" in wrong_text
    assert wrong_text.replace(name, "X") == unknown_text.replace("nobody-" + name, "X")
    assert SESSION_COOKIE not in wrong.cookies and SESSION_COOKIE not in unknown.cookies


async def test_unknown_username_still_costs_a_hash_verification(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad input: a username that does not exist; the answer must not come back faster."""
    verified: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            verified.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(users, "HASHER", Counting(time_cost=1, memory_cost=1024))
    assert (await login(client, f"ghost-{uuid.uuid4().hex[:8]}")).status == 401
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


async def test_disabled_user_cannot_log_in_and_loses_open_sessions(
    make_client: ClientFactory, db_sessionmaker: Sessions
) -> None:
    """Bad input: the right password of a disabled user."""
    name = await add_user(db_sessionmaker, Role.AGENT)
    before = await make_client()
    assert (await login(before, name)).status == 303
    assert await users.disable_user(db_sessionmaker, name) == 1
    gone = await before.get("/agent", allow_redirects=False)
    assert (gone.status, gone.headers["Location"]) == (302, "/login")
    refused = await login(await make_client(), name)
    assert refused.status == 401 and "用户名或密码错误" in await refused.text()


async def test_sixth_attempt_after_five_failures_gets_429_with_when_to_retry(
    client: Client, db_sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Bad input: five wrong passwords, then even the right one, within 15 minutes."""
    name = await add_user(db_sessionmaker, Role.AGENT)
    for _ in range(5):
        assert (await login(client, name, "guess-guess")).status == 401
        clock.advance(seconds=30)
    throttled = await login(client, name)
    assert throttled.status == 429
    assert re.search(r"请于 \d\d:\d\d 之后再试", await throttled.text())
    assert 0 < int(throttled.headers["Retry-After"]) <= 15 * 60
    clock.advance(seconds=int(throttled.headers["Retry-After"]))
    assert (await login(client, name)).status == 303


async def test_failures_spread_over_usernames_from_one_address_are_throttled(
    client: Client, db_sessionmaker: Sessions
) -> None:
    """Bad input: five different made-up usernames from the same client address."""
    name = await add_user(db_sessionmaker, Role.OFFICE)
    for i in range(5):
        assert (await login(client, f"guess{i}-{name}")).status == 401
    assert (await login(client, name)).status == 429


async def test_success_clears_the_username_counter(
    client: Client, db_sessionmaker: Sessions
) -> None:
    """Bad input: four wrong passwords, a good login, then five more wrong ones."""
    name = await add_user(db_sessionmaker, Role.LEADER)
    for _ in range(4):
        assert (await login(client, name, "wrong-wrong")).status == 401
    assert (await login(client, name)).status == 303
    await logged_out(client)
    for _ in range(5):
        assert (await login(client, name, "wrong-wrong")).status == 401
    assert (await login(client, name)).status == 429


async def test_throttle_counts_failures_seen_by_another_process(
    make_client: ClientFactory, db_sessionmaker: Sessions, database_url: str
) -> None:
    """Bad input: five wrong passwords sent to one ivr process, the sixth to another."""
    from ivr.db.engine import make_engine, make_sessionmaker

    name = await add_user(db_sessionmaker, Role.AGENT)
    first = await make_client()
    for _ in range(5):
        assert (await login(first, name, "wrong-wrong")).status == 401
    other_engine = make_engine(database_url)  # its own pool, as another process has
    try:
        second = await make_client(db=make_sessionmaker(other_engine))
        assert (await login(second, name)).status == 429
    finally:
        await other_engine.dispose()


async def test_idle_session_expires_and_activity_keeps_it_alive(
    client: Client, db_sessionmaker: Sessions, clock: FakeClock
) -> None:
    await login(client, await add_user(db_sessionmaker, Role.AGENT))
    clock.advance(hours=11)
    assert (await client.get("/agent")).status == 200
    clock.advance(hours=11)  # 22 h after login, 11 h idle
    assert (await client.get("/agent")).status == 200
    clock.advance(hours=12, seconds=1)
    expired = await client.get("/agent", allow_redirects=False)
    assert (expired.status, expired.headers["Location"]) == (302, "/login")
    assert (await client.get("/api/me")).status == 401


async def test_logout_deletes_the_session_and_the_old_cookie_is_refused(
    client: Client, db_sessionmaker: Sessions
) -> None:
    """Bad input: the cookie of a session that was logged out, sent again."""
    response = await login(client, await add_user(db_sessionmaker, Role.DEPARTMENT))
    token = cookie(response, SESSION_COOKIE).value
    token_field = csrf_of(await (await client.get("/department")).text())
    out = await client.post("/logout", data={"csrf_token": token_field}, allow_redirects=False)
    assert (out.status, out.headers["Location"]) == (303, "/login")
    async with db_sessionmaker() as session:
        query = select(WebSession).where(WebSession.token_hash == token_digest(token))
        assert (await session.scalars(query)).all() == []
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: token})
    replay = await client.get("/department", allow_redirects=False)
    assert (replay.status, replay.headers["Location"]) == (302, "/login")


async def test_each_role_is_refused_on_the_other_roles_pages(
    make_client: ClientFactory, db_sessionmaker: Sessions
) -> None:
    """Bad input: every role asking for every other role's page."""
    for role in Role:
        client = await make_client()
        await login(client, await add_user(db_sessionmaker, role))
        for other, path in ROLE_HOME.items():
            response = await client.get(path)
            assert response.status == (200 if other is role else 403), (role, path)
            if other is not role:
                assert "仅限" in await response.text()


_FORM_TYPE = "application/x-www-form-urlencoded"
_FORM = {"Content-Type": _FORM_TYPE}


async def test_post_without_or_with_a_wrong_csrf_token_is_refused_and_changes_nothing(
    client: Client, db_sessionmaker: Sessions
) -> None:
    """Bad input: logout with no token, a wrong form token, a wrong header, a JSON body."""
    await login(client, await add_user(db_sessionmaker, Role.AGENT))
    attempts: list[dict[str, Any]] = [
        {},
        {"data": {"csrf_token": "forged"}},
        {"headers": {"X-CSRF-Token": "forged"}},
        {"json": {"csrf_token": "forged"}},
        {"data": {"csrf_token": "伪造"}},
        # unreadable bodies: bad UTF-8, an unknown charset, multipart without its boundary
        {"data": b"csrf_token=%ff\xff", "headers": _FORM},
        {"data": b"csrf_token=x", "headers": {"Content-Type": _FORM_TYPE + "; charset=nope"}},
        {"data": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data"}},
    ]
    for attempt in attempts:
        response = await client.post("/logout", allow_redirects=False, **attempt)
        assert response.status == 403, attempt
        assert "CSRF token missing or wrong" in await response.text()
    assert (await client.get("/agent")).status == 200, "the session must have survived"
    token = csrf_of(await (await client.get("/agent")).text())
    by_header = await client.post("/logout", headers={"X-CSRF-Token": token})
    assert by_header.status == 200 and "坐席登录" in await by_header.text()


async def test_login_post_without_the_pre_session_token_is_refused(
    make_client: ClientFactory, db_sessionmaker: Sessions, clock: FakeClock
) -> None:
    """Bad input: no token, a token not matching the cookie, a token but no cookie."""
    name = await add_user(db_sessionmaker, Role.AGENT)
    client = await make_client()
    creds = {"username": name, "password": PASSWORD}
    no_cookie = await client.post("/login", data=creds | {"csrf_token": "x" * 43})
    await client.get("/login")
    missing = await client.post("/login", data=creds)
    wrong = await client.post("/login", data=creds | {"csrf_token": "y" * 43})
    for response in (no_cookie, missing, wrong):
        assert response.status == 403
        assert SESSION_COOKIE not in response.cookies
    async with db_sessionmaker() as session:
        recent = LoginFailure.at >= clock.now - timedelta(hours=1)
        counted = await session.scalars(select(LoginFailure).where(recent))
        assert counted.all() == [], "a refused form is not a login attempt"


async def test_api_without_login_is_401_json(client: Client) -> None:
    response = await client.get("/api/me")
    assert response.status == 401
    assert await response.json() == {"error": "not logged in"}
    missing = await client.get("/api/nothing-here")
    assert missing.status == 404 and "error" in await missing.json()


async def test_api_me_returns_the_user_and_no_secret(
    client: Client, db_sessionmaker: Sessions
) -> None:
    name = await add_user(db_sessionmaker, Role.AGENT, interface="Local/8001@agents-sim/n")
    await login(client, name)
    response = await client.get("/api/me")
    assert await response.json() == {
        "username": name,
        "display_name": name,
        "role": "agent",
        "interface": "Local/8001@agents-sim/n",
        "department": None,
    }
    assert "argon2" not in await response.text()


async def test_pages_escape_what_users_typed(client: Client, db_sessionmaker: Sessions) -> None:
    """Bad input: markup in a display name and in the username typed at login."""
    evil = '<script>alert("x")</script>'
    await login(client, await add_user(db_sessionmaker, Role.LEADER, display_name=evil))
    assert evil not in await (await client.get("/leader")).text()
    other = await login(await logged_out(client), '"><img src=x>')
    assert '"><img' not in await other.text()


async def test_security_headers_are_on_every_response(client: Client) -> None:
    for path in ("/healthz", "/login", "/static/console.css", "/api/me", "/nowhere", "/agent"):
        response = await client.get(path, allow_redirects=False)
        headers = response.headers
        assert headers["Content-Security-Policy"].startswith("default-src 'self'"), path
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"


async def test_oversized_body_is_refused(client: Client) -> None:
    """Bad input: a 100 KiB login form (the limit is 64 KiB)."""
    await client.get("/login")
    response = await client.post("/login", data={"username": "x" * 100_000, "password": "y"})
    assert response.status == 413
