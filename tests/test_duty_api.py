"""The duty schedule's JSON API through the real app factory and a real database.

Every bad input the issue lists gets a 4xx with a message that says what is wrong, and
nothing is written: overlapping shifts, a shift ending before it starts, an unknown or
inactive leader, a new shift in the past, a malformed CSV row, a time without a time zone,
a leader without a reachable endpoint. Only the office changes the schedule; leaders may
look; agents and departments may not; nobody anonymous.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from unittest.mock import MagicMock

import pytest
from aiohttp import ClientResponse, web
from argon2 import PasswordHasher
from sqlalchemy import func, select

from ivr.db import users
from ivr.db.duty_models import HolidayRecord, LeaderRecord, ScheduleAudit, ShiftRecord
from ivr.db.models import Role
from ivr.web import duty_api, duty_pages
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.state import ConsolePolicy
from tests.test_duty_db import NOW, Sessions, at, duty_postgres_url, schedule_url, sm
from tests.test_web_console import Client, FakeClock, add_user, csrf_of, login

__all__ = ["duty_postgres_url", "schedule_url", "sm"]  # fixtures shared with test_duty_db
pytest_plugins = ["tests.db_fixtures"]

CHANGES = [
    ("POST", "/api/duty/leaders"),
    ("PATCH", "/api/duty/leaders/1"),
    ("POST", "/api/duty/leaders/1/deactivate"),
    ("POST", "/api/duty/shifts"),
    ("PATCH", "/api/duty/shifts/1"),
    ("DELETE", "/api/duty/shifts/1"),
    ("POST", "/api/duty/holidays"),
    ("DELETE", "/api/duty/holidays/2031-04-04"),
    ("POST", "/api/duty/rotation"),
    ("POST", "/api/duty/publish"),
    ("POST", "/api/duty/import"),
    ("GET", "/api/duty/audit"),
]
VIEWS = [
    ("GET", "/api/duty/leaders"),
    ("GET", "/api/duty/shifts"),
    ("GET", "/api/duty/holidays"),
    ("GET", "/api/duty/now"),
    ("GET", "/api/duty/export.csv"),
    ("GET", "/api/duty/export.ics"),
]


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with minimal cost: these tests are about the schedule."""
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


def with_duty(app: web.Application) -> web.Application:
    """The app with the duty routes, added here as long as the factory does not add them."""
    paths = {route.resource.canonical for route in app.router.routes() if route.resource}
    if "/api/duty/leaders" not in paths:
        duty_api.add_routes(app.router)
    if "/duty" not in paths:
        duty_pages.add_routes(app.router)
    return app


@dataclasses.dataclass
class Console:
    """A logged-in client and its CSRF token."""

    client: Client
    token: str

    async def call(self, method: str, path: str, **kwargs: Any) -> ClientResponse:
        """A request with the session's CSRF header."""
        headers = {"X-CSRF-Token": self.token, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """The JSON of a request that must succeed with `status`."""
        response = await self.call(method, path, **kwargs)
        assert response.status == status, await response.text()
        return await response.json()

    async def refused(self, method: str, path: str, status: int, **kwargs: Any) -> str:
        """The error message of a request that must fail with `status`."""
        response = await self.call(method, path, **kwargs)
        body = await response.json()
        assert response.status == status, body
        return str(body["error"])


ConsoleFactory = Callable[[Role], Awaitable[Console]]


@pytest.fixture
def clock() -> FakeClock:
    """The server's clock: 1 March 2031, 08:00 Beijing time."""
    return FakeClock(NOW)


@pytest.fixture
def console(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], sm: Sessions, clock: FakeClock
) -> ConsoleFactory:
    """Logs a new user of a role into a fresh client of the real app."""

    async def build(role: Role) -> Console:
        app = make_app(lambda: {"ok": True}, db=sm, policy=ConsolePolicy(), clock=clock)
        client = await aiohttp_client(with_duty(app))
        assert (await login(client, await add_user(sm, role))).status == 303
        return Console(client, csrf_of(await (await client.get("/")).text()))

    return build


@pytest.fixture
async def office(console: ConsoleFactory) -> Console:
    """The hotline office, logged in."""
    return await console(Role.OFFICE)


async def rows(sm: Sessions) -> dict[str, int]:
    """How many rows each schedule table holds."""
    counts = {}
    async with sm() as session:
        for model in (LeaderRecord, ShiftRecord, HolidayRecord, ScheduleAudit):
            counts[model.__tablename__] = await session.scalar(
                select(func.count()).select_from(model)
            )
    return {k: int(v or 0) for k, v in counts.items()}


async def a_leader(office: Console, name: str = "王伟", endpoint: str = "PJSIP/8001") -> int:
    """Add a leader through the API; their id."""
    body = {"name": name, "title": "副市长", "endpoints": [endpoint]}
    return int((await office.ok("POST", "/api/duty/leaders", 201, json=body))["leader"]["id"])


def shift_body(leader_id: int, start: datetime, end: datetime, note: str = "") -> dict[str, Any]:
    """A shift as the API takes it, times with offsets."""
    return {
        "leader_id": leader_id,
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "note": note,
    }


# --- who may ----------------------------------------------------------------------------


def test_every_duty_route_says_who_may_use_it() -> None:
    app = with_duty(make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy()))
    duty_routes = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None
        and "duty" in route.resource.canonical
        and route.method != "HEAD"  # aiohttp's twin of each GET
    }
    assert len(duty_routes) == len(CHANGES) + len(VIEWS) + 1
    office, viewers = frozenset({Role.OFFICE}), frozenset({Role.OFFICE, Role.LEADER})
    assert duty_routes[("GET", "/duty")] == viewers
    assert {a for (m, p), a in duty_routes.items() if m != "GET"} == {office}
    assert duty_routes[("GET", "/api/duty/audit")] == office


async def test_anonymous_gets_401_and_the_page_redirects_to_login(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], sm: Sessions
) -> None:
    app = with_duty(make_app(lambda: {}, db=sm, policy=ConsolePolicy()))
    client = await aiohttp_client(app)
    for method, path in CHANGES + VIEWS:
        response = await client.request(method, path)
        assert response.status == 401, (method, path)
        assert await response.json() == {"error": "not logged in"}
    page = await client.get("/duty", allow_redirects=False)
    assert (page.status, page.headers["Location"]) == (302, "/login")


@pytest.mark.parametrize("role", [Role.AGENT, Role.DEPARTMENT])
async def test_agents_and_departments_get_403(
    console: ConsoleFactory, sm: Sessions, role: Role
) -> None:
    user = await console(role)
    for method, path in CHANGES + VIEWS + [("GET", "/duty")]:
        response = await user.call(method, path, json={})
        assert response.status == 403, (method, path)
    assert (await rows(sm))["leaders"] == 0


async def test_leaders_may_look_but_not_change(
    console: ConsoleFactory, office: Console, sm: Sessions
) -> None:
    await a_leader(office)
    leader = await console(Role.LEADER)
    for method, path in VIEWS:
        assert (await leader.call(method, path)).status == 200, path
    before = await rows(sm)
    for method, path in CHANGES:
        assert (await leader.call(method, path, json={})).status == 403, path
    assert await rows(sm) == before


async def test_a_change_without_the_csrf_token_is_refused(office: Console, sm: Sessions) -> None:
    response = await office.client.post(
        "/api/duty/leaders", json={"name": "王伟", "endpoints": ["PJSIP/8001"]}
    )
    assert response.status == 403 and (await rows(sm))["leaders"] == 0


# --- leaders ----------------------------------------------------------------------------


async def test_leaders_are_added_changed_and_deactivated(office: Console, sm: Sessions) -> None:
    leader_id = await a_leader(office)
    changed = await office.ok(
        "PATCH",
        f"/api/duty/leaders/{leader_id}",
        json={"title": "常务副市长", "endpoints": "PJSIP/8001 PJSIP/13800000000@trunk"},
    )
    assert changed["leader"] == {
        "id": leader_id,
        "name": "王伟",
        "title": "常务副市长",
        "endpoints": ["PJSIP/8001", "PJSIP/13800000000@trunk"],
        "active": True,
    }
    gone = await office.ok("POST", f"/api/duty/leaders/{leader_id}/deactivate")
    assert gone["leader"]["active"] is False
    listed = await office.ok("GET", "/api/duty/leaders")
    assert [x["active"] for x in listed["leaders"]] == [False]
    audit = await office.ok("GET", "/api/duty/audit")
    assert [e["action"] for e in audit["entries"]] == ["deactivate", "update", "create"]
    assert all(e["actor"].startswith("office-") for e in audit["entries"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"name": "王伟", "title": "副市长", "endpoints": []},
            "王伟 has no endpoint to be reached",
        ),
        ({"name": "王伟", "endpoints": ["8001"]}, "endpoint '8001' is not a dial string"),
        ({"name": "王伟", "endpoints": ["PJSIP/8001,20"]}, "is not a dial string Asterisk can use"),
        ({"name": "", "endpoints": ["PJSIP/8001"]}, "a leader needs a name"),
        ({"name": "王伟", "endpoints": [8001]}, "endpoints must be a list of dial strings"),
        ({"name": 7, "endpoints": ["PJSIP/8001"]}, "name must be text"),
    ],
)
async def test_a_leader_without_a_reachable_endpoint_is_refused(
    office: Console, sm: Sessions, body: dict[str, Any], message: str
) -> None:
    assert message in await office.refused("POST", "/api/duty/leaders", 400, json=body)
    assert (await rows(sm))["leaders"] == (await rows(sm))["schedule_audit"] == 0


async def test_unknown_leaders_are_404_and_a_taken_name_is_400(office: Console) -> None:
    await a_leader(office)
    assert "no leader with id 999" in await office.refused(
        "PATCH", "/api/duty/leaders/999", 404, json={"title": "x"}
    )
    await office.refused("POST", "/api/duty/leaders/abc/deactivate", 404)
    message = await office.refused(
        "POST", "/api/duty/leaders", 400, json={"name": "王伟", "endpoints": ["PJSIP/8009"]}
    )
    assert message == "a leader named 王伟 already exists"
    assert "active must be true or false" in await office.refused(
        "PATCH", "/api/duty/leaders/1", 400, json={"active": "no"}
    )


# --- shifts -----------------------------------------------------------------------------


async def test_shifts_are_added_listed_changed_and_deleted(office: Console, sm: Sessions) -> None:
    wang = await a_leader(office)
    made = await office.ok(
        "POST", "/api/duty/shifts", 201, json=shift_body(wang, at(5, 9), at(5, 12), "市长接听日")
    )
    shift = made["shift"]
    assert shift | {"id": 0} == {
        "id": 0,
        "leader_id": wang,
        "leader": "王伟",
        "title": "副市长",
        "leader_active": True,
        "starts_at": "2031-03-05T09:00:00+08:00",
        "ends_at": "2031-03-05T12:00:00+08:00",
        "date": "2031-03-05",
        "start": "09:00",
        "end": "12:00",
        "note": "市长接听日",
    }
    local = {"leader_id": wang, "date": "2031-03-06", "start": "21:00", "end": "24:00"}
    evening = (await office.ok("POST", "/api/duty/shifts", 201, json=local))["shift"]
    assert evening["ends_at"] == "2031-03-07T00:00:00+08:00" and evening["end"] == "24:00"
    utc = shift_body(wang, at(7, 9), at(7, 12))
    utc["starts_at"], utc["ends_at"] = "2031-03-07T01:00:00Z", "2031-03-07T04:00:00+00:00"
    assert (await office.ok("POST", "/api/duty/shifts", 201, json=utc))["shift"]["start"] == "09:00"
    listed = await office.ok("GET", "/api/duty/shifts?month=2031-03")
    assert [s["date"] for s in listed["shifts"]] == ["2031-03-05", "2031-03-06", "2031-03-07"]
    assert (await office.ok("GET", "/api/duty/shifts?month=2031-04"))["shifts"] == []
    moved = await office.ok(
        "PATCH",
        f"/api/duty/shifts/{shift['id']}",
        json={"end": "13:00", "date": "2031-03-05", "start": "10:00"},
    )
    assert (moved["shift"]["start"], moved["shift"]["end"]) == ("10:00", "13:00")
    await office.ok("DELETE", f"/api/duty/shifts/{shift['id']}")
    assert "no shift with id" in await office.refused(
        "DELETE", f"/api/duty/shifts/{shift['id']}", 404
    )
    assert (await rows(sm))["duty_shifts"] == 2


async def test_the_lookup_sees_a_new_shift_at_once(office: Console, clock: FakeClock) -> None:
    wang = await a_leader(office)
    assert await office.ok("GET", "/api/duty/now") == {"duty": None}
    await office.ok("POST", "/api/duty/shifts", 201, json=shift_body(wang, at(1, 9), at(1, 12)))
    clock.now = at(1, 9)
    now = await office.ok("GET", "/api/duty/now")
    assert now["duty"]["leader"]["name"] == "王伟" and now["duty"]["shift"]["start"] == "09:00"
    clock.now = at(1, 12)
    assert await office.ok("GET", "/api/duty/now") == {"duty": None}


async def test_bad_shifts_get_a_clear_4xx_and_nothing_is_written(
    office: Console, sm: Sessions
) -> None:
    wang = await a_leader(office)
    zhao = await a_leader(office, "赵刚", "PJSIP/8003")
    await office.ok("POST", f"/api/duty/leaders/{zhao}/deactivate")
    await office.ok("POST", "/api/duty/shifts", 201, json=shift_body(wang, at(5, 9), at(5, 12)))
    before = await rows(sm)
    naive = shift_body(wang, at(6, 9), at(6, 12))
    naive["starts_at"] = "2031-03-06T09:00:00"
    cases: list[tuple[dict[str, Any], int, str]] = [
        (
            shift_body(wang, at(5, 11), at(5, 14)),
            409,
            "overlaps 王伟's shift 2031-03-05 09:00–12:00",
        ),
        (
            shift_body(wang, at(6, 12), at(6, 9)),
            400,
            "the shift ends (2031-03-06 09:00) before it starts (2031-03-06 12:00)",
        ),
        (shift_body(999, at(6, 9), at(6, 12)), 400, "there is no leader with id 999"),
        (shift_body(zhao, at(6, 9), at(6, 12)), 400, "leader 赵刚 is inactive"),
        (
            shift_body(wang, at(1, 6), at(1, 7)),
            400,
            "the shift would start in the past (2031-03-01 06:00, now is 2031-03-01 08:00)",
        ),
        (
            naive,
            400,
            "starts_at '2031-03-06T09:00:00' has no time zone: add an offset such as +08:00 or Z",
        ),
        ({**naive, "starts_at": "next tuesday"}, 400, "is not an ISO 8601 time"),
        (
            {"leader_id": wang, "date": "2031-03-06", "start": "09:00", "end": "08:00"},
            400,
            "before it starts",
        ),
        (
            {"leader_id": wang, "date": "6 March", "start": "09:00", "end": "12:00"},
            400,
            "date '6 March' is not a date",
        ),
        (
            {
                **shift_body(wang, at(6, 9), at(6, 12)),
                "date": "2031-03-07",
                "start": "09:00",
                "end": "12:00",
            },
            400,
            "starts_at/ends_at and date/start/end disagree",
        ),
        (
            {"leader_id": "1", "starts_at": at(6, 9).isoformat()},
            400,
            "leader_id must be a whole number",
        ),
        (
            {"leader_id": wang, "date": "2031-03-06", "start": "22:00", "end": "02:00"},
            400,
            "before it starts",
        ),
    ]
    for body, status, message in cases:
        assert message in await office.refused("POST", "/api/duty/shifts", status, json=body), body
    bad_json = await office.refused(
        "POST",
        "/api/duty/shifts",
        400,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad_json == "the body is not valid JSON"
    assert await rows(sm) == before


# --- holidays ---------------------------------------------------------------------------


async def test_holidays_are_kept_by_the_office(office: Console, sm: Sessions) -> None:
    await office.ok(
        "POST",
        "/api/duty/holidays",
        json={"day": "2031-04-04", "name": "清明节", "kind": "holiday"},
    )
    await office.ok("POST", "/api/duty/holidays", json={"day": "2031-04-12", "kind": "workday"})
    listed = await office.ok("GET", "/api/duty/holidays?year=2031")
    assert listed["holidays"] == [
        {"day": "2031-04-04", "name": "清明节", "kind": "holiday"},
        {"day": "2031-04-12", "name": "调休上班", "kind": "workday"},
    ]
    assert "kind 'vacation' is unknown" in await office.refused(
        "POST", "/api/duty/holidays", 400, json={"day": "2031-04-05", "kind": "vacation"}
    )
    assert "not a date" in await office.refused(
        "POST", "/api/duty/holidays", 400, json={"day": "4/5"}
    )
    await office.ok("DELETE", "/api/duty/holidays/2031-04-04")
    await office.refused("DELETE", "/api/duty/holidays/2031-04-04", 404)
    await office.refused("DELETE", "/api/duty/holidays/someday", 404)
    assert (await rows(sm))["holidays"] == 1


# --- rotation and publishing ------------------------------------------------------------


async def test_a_rotation_is_proposed_then_published(office: Console, sm: Sessions) -> None:
    wang, li = await a_leader(office), await a_leader(office, "李娜", "PJSIP/8002")
    await office.ok("POST", "/api/duty/holidays", json={"day": "2031-04-07", "kind": "holiday"})
    before = await rows(sm)
    proposal = await office.ok("POST", "/api/duty/rotation", json={"month": "2031-04", "months": 3})
    assert await rows(sm) == before  # a proposal saves nothing
    shifts = proposal["shifts"]
    assert (proposal["month"], proposal["asked"], len(shifts)) == ("2031-04", 6, 6)
    assert [s["leader_id"] for s in shifts] == [wang, li] * 3
    assert all((s["start"], s["end"]) == ("09:00", "12:00") for s in shifts)
    assert "2031-04-07" not in [s["date"] for s in shifts]
    shifts[0]["leader_id"] = li  # the office edits the proposal before publishing
    shifts[1]["leader_id"] = wang
    published = await office.ok("POST", "/api/duty/publish", 201, json={"shifts": shifts})
    assert [s["leader"] for s in published["shifts"][:2]] == ["李娜", "王伟"]
    again = await office.ok("POST", "/api/duty/rotation", json={"month": "2031-04"})
    assert all(s["date"] not in [p["date"] for p in shifts] for s in again["shifts"])
    default = await office.ok("POST", "/api/duty/rotation", json={})
    assert default["month"] == "2031-04"  # next month by the server's clock


async def test_a_bad_publish_saves_nothing(office: Console, sm: Sessions) -> None:
    wang = await a_leader(office)
    li = await a_leader(office, "李娜", "PJSIP/8002")
    good = {"leader_id": wang, "date": "2031-04-10", "start": "09:00", "end": "12:00"}
    clash = {"leader_id": li, "date": "2031-04-10", "start": "11:00", "end": "12:00"}
    past = {"leader_id": li, "date": "2031-02-10", "start": "09:00", "end": "12:00"}
    response = await office.call("POST", "/api/duty/publish", json={"shifts": [good, clash, past]})
    body = await response.json()
    assert response.status == 400
    assert body["problems"] == [
        "shift 2: the shift 2031-04-10 11:00–12:00 overlaps shift 1",
        "shift 3: the shift would start in the past (2031-02-10 09:00, now is 2031-03-01 08:00): "
        "shifts are planned ahead",
    ]
    assert body["error"].startswith("the rotation was not published: nothing was saved. shift 2:")
    naive = {
        "leader_id": wang,
        "starts_at": "2031-04-11T09:00",
        "ends_at": "2031-04-11T12:00+08:00",
    }
    message = await office.refused("POST", "/api/duty/publish", 400, json={"shifts": [good, naive]})
    assert message == (
        "shift 2: starts_at '2031-04-11T09:00' has no time zone: add an offset such as +08:00 or Z"
    )
    assert (await rows(sm))["duty_shifts"] == 0


async def test_rotation_requests_that_make_no_sense_are_400(office: Console) -> None:
    await a_leader(office)
    assert "only 王伟 is active" in await office.refused(
        "POST", "/api/duty/rotation", 400, json={"month": "2031-04"}
    )
    await a_leader(office, "李娜", "PJSIP/8002")
    for body, message in [
        ({"month": "2031-13"}, "month '2031-13' is not a month"),
        ({"months": 0}, "months must be a whole number from 1 to 12"),
        ({"days_per_month": 40}, "days_per_month must be a whole number from 1 to 31"),
        (
            {"start": "12:00", "end": "09:00"},
            "the duty hours end (09:00) before they start (12:00)",
        ),
        ({"start": "noon"}, "start 'noon' is not a time"),
    ]:
        assert message in await office.refused("POST", "/api/duty/rotation", 400, json=body)


# --- files ------------------------------------------------------------------------------


async def test_export_csv_and_ics(office: Console) -> None:
    wang = await a_leader(office)
    await office.ok(
        "POST", "/api/duty/shifts", 201, json=shift_body(wang, at(5, 9), at(5, 12), "a, b")
    )
    response = await office.call("GET", "/api/duty/export.csv?month=2031-03&months=1")
    assert response.status == 200 and response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="duty-2031-03.csv"'
    data = await response.read()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert (
        data.decode("utf-8-sig").splitlines()[1]
        == '2031-03-05,09:00,12:00,王伟,副市长,PJSIP/8001,"a, b"'
    )
    quarter = await office.call("GET", "/api/duty/export.ics")
    assert quarter.content_type == "text/calendar"
    assert 'filename="duty-2031-03-to-2031-05.ics"' in quarter.headers["Content-Disposition"]
    assert "DTSTART:20310305T010000Z" in (await quarter.text())


async def test_import_csv_and_ics(office: Console, sm: Sessions) -> None:
    wang = await a_leader(office)
    await a_leader(office, "李娜", "PJSIP/8002")
    await office.ok("POST", "/api/duty/shifts", 201, json=shift_body(wang, at(20, 9), at(20, 12)))
    csv = (
        "date,start,end,leader,title,endpoints,note\r\n"
        "2031-03-10,09:00,12:00,李娜,,,\r\n"
        "2031-03-24,09:00,12:00,王伟,,,\r\n"
    )
    done = await office.ok(
        "POST",
        "/api/duty/import",
        data=csv.encode("utf-8-sig"),
        headers={"Content-Type": "text/csv"},
    )
    assert done == {"added": 2, "removed": 1, "unchanged": 0}
    exported = await (
        await office.call("GET", "/api/duty/export.ics?month=2031-03&months=1")
    ).read()
    again = await office.ok(
        "POST",
        "/api/duty/import",
        data=exported,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert again == {"added": 2, "removed": 2, "unchanged": 0}
    listed = await office.ok("GET", "/api/duty/shifts?month=2031-03")
    assert [(s["date"], s["leader"]) for s in listed["shifts"]] == [
        ("2031-03-10", "李娜"),
        ("2031-03-24", "王伟"),
    ]


async def test_a_malformed_csv_row_refuses_the_whole_file(office: Console, sm: Sessions) -> None:
    wang = await a_leader(office)
    await office.ok("POST", "/api/duty/shifts", 201, json=shift_body(wang, at(20, 9), at(20, 12)))
    before = await rows(sm)
    csv = (
        "date,start,end,leader,title,endpoints,note\r\n"
        "2031-03-10,09:00,12:00,王伟,,,\r\n"
        "2031-03-11,09:00,12:00,张三,,,\r\n"
        "2031-03-12,12:00,09:00,王伟,,,\r\n"
        "2031-03-10,11:00,13:00,王伟,,,\r\n"
    )
    response = await office.call(
        "POST", "/api/duty/import", data=csv.encode(), headers={"Content-Type": "text/csv"}
    )
    body = await response.json()
    assert response.status == 400
    assert body["problems"] == [
        "row 3: unknown leader '张三': add them to the leaders first",
        "row 4: the shift ends (2031-03-12 09:00) before it starts (2031-03-12 12:00)",
    ]
    assert body["error"].startswith("the file was not imported: nothing was saved. row 3:")
    overlapping = csv.replace("张三", "王伟").replace("12:00,09:00", "09:00,12:00")
    response = await office.call(
        "POST", "/api/duty/import", data=overlapping.encode(), headers={"Content-Type": "text/csv"}
    )
    assert (await response.json())["problems"] == [
        "row 5: the shift 2031-03-10 11:00–13:00 overlaps row 2"
    ]
    floating = "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "BEGIN:VEVENT",
            "DTSTART:20310310T090000",
            "DTEND:20310310T120000",
            "SUMMARY:王伟",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )
    message = await office.refused("POST", "/api/duty/import", 400, data=floating.encode())
    assert "event 1: DTSTART 20310310T090000 has no time zone" in message
    assert await rows(sm) == before


# --- the page ---------------------------------------------------------------------------


async def test_the_month_page_shows_duty_days_and_the_office_forms(
    console: ConsoleFactory, office: Console
) -> None:
    wang = await a_leader(office, "<b>王伟</b>")
    await office.ok("POST", "/api/duty/shifts", 201, json=shift_body(wang, at(5, 9), at(5, 12)))
    await office.ok("POST", "/api/duty/holidays", json={"day": "2031-03-10", "name": "假日"})
    page = await (await office.call("GET", "/duty?month=2031-03")).text()
    assert 'data-day="2031-03-05"' in page and "&lt;b&gt;王伟&lt;/b&gt;" in page
    assert "<b>王伟</b>" not in page
    assert 'id="shift-form"' in page and 'id="rotation-form"' in page and "变更记录" in page
    assert "假日（放假）" in page and 'src="/static/duty.js"' in page
    leader = await console(Role.LEADER)
    view = await (await leader.call("GET", "/duty?month=2031-03")).text()
    assert 'data-day="2031-03-05"' in view and 'id="export-csv"' in view
    assert 'id="shift-form"' not in view and "变更记录" not in view and "data-action" not in view
    bad = await leader.call("GET", "/duty?month=March")
    assert bad.status == 400 and "month &#x27;March&#x27; is not a month" in await bad.text()
