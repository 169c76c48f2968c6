"""The work-queue API through the real app factory and a real database (SQLite, PostgreSQL).

Each test has a database of its own (the queue is global), so counts and "the next draft"
are exactly what the test made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web
from argon2 import PasswordHasher

from ivr.db import users, work_queue
from ivr.db.models import Role
from ivr.web import work_queue as work_queue_api
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.state import ConsolePolicy
from tests.test_web_console import Client, FakeClock, Sessions, add_user, csrf_of, login
from tests.test_work_queue import T0, draft, live_draft

pytest_plugins = ["tests.db_fixtures"]

ClientFactory = Callable[[], Awaitable[Client]]
ROUTES = [
    ("GET", "/api/work-queue"),
    ("POST", "/api/work-queue/claim-next"),
    ("POST", "/api/cases/{case_id}/claim"),
    ("POST", "/api/cases/{case_id}/release"),
]
NO_SUCH_IDS = ["0", "2147483647", "2147483648", "9999999999", "99999999999", "1" * 5000]
NOT_IDS = ["abc", "-1", "1.5", "%D9%A1", "1%20"]  # %D9%A1 is an Arabic-Indic digit one


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: these tests are about the queue, not the hash."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def db(own_sessionmaker: Sessions) -> Sessions:
    """Sessions on this test's own database (the queue is global: counts must be exact)."""
    return own_sessionmaker


def with_work_queue(app: web.Application) -> web.Application:
    """The app with the work-queue routes, added here as long as the factory does not."""
    paths = {route.resource.canonical for route in app.router.routes() if route.resource}
    if "/api/work-queue" not in paths:
        work_queue_api.add_routes(app.router)
    return app


@pytest.fixture
def make_client(
    aiohttp_client: Callable[..., Awaitable[Client]],
    db: Sessions,
    fresh_instant: Callable[[], datetime],
) -> ClientFactory:
    """Builds a console client (one per browser: each logs in on its own)."""
    clock = FakeClock(fresh_instant())

    async def build() -> Client:
        app = make_app(lambda: {}, db=db, policy=ConsolePolicy(), clock=clock)
        return await aiohttp_client(with_work_queue(app))

    return build


async def logged_in_as(
    make_client: ClientFactory, db: Sessions, role: Role = Role.AGENT
) -> tuple[Client, str, dict[str, str]]:
    """A client logged in as a new user: the client, the username, the CSRF header."""
    client = await make_client()
    name = await add_user(db, role)
    await login(client, name)
    token = csrf_of(await (await client.get("/")).text())
    return client, name, {"X-CSRF-Token": token}


async def call(
    client: Client, method: str, path: str, csrf: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One API request: the status and the JSON body (None for an empty one)."""
    response = await client.request(method, path, headers=csrf or {})
    body = await response.json() if response.content_type == "application/json" else None
    return response.status, body


def paths(case_id: int | str) -> list[tuple[str, str]]:
    """Each route, with `case_id` in those that name a case."""
    return [(m, p.replace("{case_id}", str(case_id))) for m, p in ROUTES]


async def test_every_route_is_for_agents_only(make_client: ClientFactory) -> None:
    app = (await make_client()).app
    access = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None
    }
    for route in ROUTES:
        assert access[route] == frozenset({Role.AGENT}), route


async def test_anonymous_gets_401_and_other_roles_403(
    make_client: ClientFactory, db: Sessions
) -> None:
    """Bad input: every route asked by no one, and by each role that is not an agent."""
    case_id = await draft(db)
    anonymous = await make_client()
    for method, path in paths(case_id):
        assert await call(anonymous, method, path) == (401, {"error": "not logged in"})
    for role in (Role.OFFICE, Role.DEPARTMENT, Role.LEADER):
        client, _, csrf = await logged_in_as(make_client, db, role)
        for method, path in paths(case_id):
            status, body = await call(client, method, path, csrf)
            assert (status, "仅限话务员" in body["error"]) == (403, True), (role, path)
    assert (await work_queue.list_waiting(db)).waiting == 1, "nothing was claimed"


async def test_posts_without_the_csrf_token_are_refused(
    make_client: ClientFactory, db: Sessions
) -> None:
    """Bad input: each POST without the header, and with a forged one."""
    case_id = await draft(db)
    client, _, _ = await logged_in_as(make_client, db)
    for csrf in ({}, {"X-CSRF-Token": "forged"}):
        for method, path in paths(case_id)[1:]:
            status, body = await call(client, method, path, csrf)
            assert (status, body) == (403, {"error": "CSRF token missing or wrong"}), path
    assert (await work_queue.list_waiting(db)).waiting == 1, "nothing was claimed"


async def test_list_claim_next_and_release(make_client: ClientFactory, db: Sessions) -> None:
    normal = await draft(db, at=T0)
    urgent = await draft(db, priority="urgent", at=T0.replace(hour=9))
    client, me, csrf = await logged_in_as(make_client, db)
    status, queue = await call(client, "GET", "/api/work-queue")
    assert (status, queue["waiting"], queue["mine"]) == (200, 2, None)
    assert [item["id"] for item in queue["items"]] == [urgent, normal]
    assert queue["items"][1] == {
        "id": normal,
        "created_at": "2026-11-27T08:00:00+00:00",
        "channel": "phone",
        "caller_number": "13800000000",
        "category": "城市管理",
        "priority": "normal",
        "summary": "路灯损坏",
        "abandoned": False,
        "needs_callback": False,
        "whistleblower": False,
        "excerpt": "我家楼下的路灯坏了三天了",
        "identity_masked": False,
    }
    status, taken = await call(client, "POST", "/api/work-queue/claim-next", csrf)
    assert (status, taken["id"], taken["status"], taken["version"]) == (200, urgent, "draft", 2)
    status, queue = await call(client, "GET", "/api/work-queue")
    assert (queue["waiting"], queue["mine"], [i["id"] for i in queue["items"]]) == (
        1,
        urgent,
        [normal],
    )
    status, body = await call(client, "POST", "/api/work-queue/claim-next", csrf)
    assert status == 409 and f"already hold case {urgent}" in body["error"]
    status, body = await call(client, "POST", f"/api/cases/{urgent}/release", csrf)
    assert (status, body["id"], body["version"]) == (200, urgent, 3)
    assert (await call(client, "GET", "/api/work-queue"))[1]["mine"] is None
    assert (await work_queue.claimed_by(db, me)) is None


async def test_claim_next_on_an_empty_queue_is_204(
    make_client: ClientFactory, db: Sessions
) -> None:
    client, _, csrf = await logged_in_as(make_client, db)
    response = await client.post("/api/work-queue/claim-next", headers=csrf)
    assert (response.status, await response.read()) == (204, b"")


async def test_claim_conflicts_are_409_with_a_reason(
    make_client: ClientFactory, db: Sessions
) -> None:
    """Bad input: someone else's draft, a live call's draft, releasing what another holds."""
    case_id = await draft(db)
    _, live = await live_draft(db)
    first, name, first_csrf = await logged_in_as(make_client, db)
    second, _, second_csrf = await logged_in_as(make_client, db)
    status, body = await call(first, "POST", f"/api/cases/{case_id}/claim", first_csrf)
    assert (status, body["id"]) == (200, case_id)
    again = await call(first, "POST", f"/api/cases/{case_id}/claim", first_csrf)
    assert again == (200, body), "claiming what you hold is harmless"
    for action in ("claim", "release"):
        status, body = await call(second, "POST", f"/api/cases/{case_id}/{action}", second_csrf)
        assert status == 409 and f"claimed by {name}" in body["error"], action
    status, body = await call(second, "POST", f"/api/cases/{live}/claim", second_csrf)
    assert status == 409 and "call is still live" in body["error"]


@pytest.mark.parametrize("case_id", NO_SUCH_IDS + NOT_IDS)
async def test_ids_that_name_no_case_are_404(
    make_client: ClientFactory, db: Sessions, case_id: str
) -> None:
    """Bad input: no such case, an id too large for the column, text that is no number."""
    client, _, csrf = await logged_in_as(make_client, db)
    for action in ("claim", "release"):
        status, body = await call(client, "POST", f"/api/cases/{case_id}/{action}", csrf)
        assert status == 404 and body["error"], (case_id, action)


async def test_a_whistleblower_is_masked_until_an_agent_claims_the_draft(
    make_client: ClientFactory, db: Sessions
) -> None:
    reported = await draft(db, whistleblower=True, caller_number="13912345678")
    client, _, csrf = await logged_in_as(make_client, db)
    [item] = (await call(client, "GET", "/api/work-queue"))[1]["items"]
    assert (item["id"], item["caller_number"], item["identity_masked"]) == (reported, "***", True)
    _, taken = await call(client, "POST", f"/api/cases/{reported}/claim", csrf)
    assert (taken["caller_number"], taken["identity_masked"]) == ("13912345678", False)
    _, released = await call(client, "POST", f"/api/cases/{reported}/release", csrf)
    assert (released["caller_number"], released["identity_masked"]) == ("***", True)
