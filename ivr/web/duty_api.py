"""The leader-on-duty schedule's JSON API (the office changes it; leaders may look).

GET    /api/duty/leaders                    {"leaders": [...]}
POST   /api/duty/leaders                    {"name", "title", "endpoints": [...]} → 201
PATCH  /api/duty/leaders/{id}               any of name, title, endpoints, active
POST   /api/duty/leaders/{id}/deactivate    the leader stays on record, never on duty
GET    /api/duty/shifts?month=YYYY-MM&months=N   {"shifts": [...], "holidays": [...]}
POST   /api/duty/shifts                     {"leader_id", "starts_at", "ends_at", "note"} → 201
PATCH  /api/duty/shifts/{id}                any of those; DELETE removes one not yet over
GET    /api/duty/holidays?year=YYYY         POST {"day", "name", "kind"}; DELETE /{day}
GET    /api/duty/now                        {"duty": null | {"leader": ..., "shift": ...}}
GET    /api/duty/audit?limit=N              the latest changes (office only)
plus rotation, publish, export and import (ivr.web.duty_files).

Shift times come as ISO 8601 with an offset, or as `date` + `start`/`end` in the office's
time zone. Errors are {"error": "..."}: 400 bad input (a time without a time zone, a shift
ending before it starts, in the past, an unknown or inactive leader, a leader without a
reachable endpoint), 404 unknown record, 409 a shift overlapping another one. Nothing is
saved when a request is refused.
"""

from __future__ import annotations

from datetime import date

from aiohttp import web

from ivr.db import duty, duty_audit, duty_bulk
from ivr.db.models import Role
from ivr.duty.model import Leader, Shift
from ivr.duty.months import month_of, month_span
from ivr.web import duty_files
from ivr.web.cases_api import json_body, path_id
from ivr.web.duty_json import (
    a_date,
    a_month,
    audit_out,
    draft_of,
    endpoints_in,
    holiday_out,
    leader_out,
    query_number,
    schedule_errors,
    shift_edit,
    shift_in,
    shift_out,
    text,
)
from ivr.web.guard import require_role, signed
from ivr.web.state import clock_key, db_key, policy_key

VIEWERS = (Role.OFFICE, Role.LEADER)
LEADER_PATH = "/api/duty/leaders/{leader_id}"
SHIFT_PATH = "/api/duty/shifts/{shift_id}"


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the duty schedule's API, its files and rotation included."""
    router.add_get("/api/duty/leaders", list_leaders)
    router.add_post("/api/duty/leaders", create_leader)
    router.add_patch(LEADER_PATH, update_leader)
    router.add_post(LEADER_PATH + "/deactivate", deactivate_leader)
    router.add_get("/api/duty/shifts", list_shifts)
    router.add_post("/api/duty/shifts", create_shift)
    router.add_patch(SHIFT_PATH, update_shift)
    router.add_delete(SHIFT_PATH, delete_shift)
    router.add_get("/api/duty/holidays", list_holidays)
    router.add_post("/api/duty/holidays", save_holiday)
    router.add_delete("/api/duty/holidays/{day}", delete_holiday)
    router.add_get("/api/duty/now", on_duty_now)
    router.add_get("/api/duty/audit", audit_log)
    duty_files.add_routes(router)


@require_role(*VIEWERS)
async def list_leaders(request: web.Request) -> web.StreamResponse:
    """Every leader, active ones first."""
    leaders = await duty.list_leaders(request.config_dict[db_key])
    return web.json_response({"leaders": [leader_out(x) for x in leaders]})


@require_role(Role.OFFICE)
async def create_leader(request: web.Request) -> web.StreamResponse:
    """Add a leader; 400 without a name or a reachable endpoint."""
    body = await json_body(request)
    with schedule_errors():
        leader = await duty.create_leader(
            request.config_dict[db_key],
            name=text(body.get("name", ""), "name"),
            title=text(body.get("title", ""), "title"),
            endpoints=endpoints_in(body.get("endpoints", [])),
            **signed(request),
        )
    return web.json_response({"leader": leader_out(leader)}, status=201)


@require_role(Role.OFFICE)
async def update_leader(request: web.Request) -> web.StreamResponse:
    """Change a leader's name, title, endpoints or active flag."""
    body = await json_body(request)
    active = body.get("active")
    if active is not None and not isinstance(active, bool):
        raise web.HTTPBadRequest(text="active must be true or false")
    leader = await _change_leader(
        request,
        name=text(body["name"], "name") if "name" in body else None,
        title=text(body["title"], "title") if "title" in body else None,
        endpoints=endpoints_in(body["endpoints"]) if "endpoints" in body else None,
        active=active,
    )
    return web.json_response({"leader": leader_out(leader)})


@require_role(Role.OFFICE)
async def deactivate_leader(request: web.Request) -> web.StreamResponse:
    """Take a leader off duty for good (until reactivated); their shifts stay on record."""
    leader = await _change_leader(request, active=False)
    return web.json_response({"leader": leader_out(leader)})


async def _change_leader(
    request: web.Request,
    *,
    name: str | None = None,
    title: str | None = None,
    endpoints: list[str] | None = None,
    active: bool | None = None,
) -> Leader:
    with schedule_errors():
        return await duty.update_leader(
            request.config_dict[db_key],
            path_id(request, "leader_id"),
            **signed(request),
            name=name,
            title=title,
            endpoints=endpoints,
            active=active,
        )


@require_role(*VIEWERS)
async def list_shifts(request: web.Request) -> web.StreamResponse:
    """The shifts and holidays of a month (or `months` months), this month by default."""
    app = request.config_dict
    zone = app[policy_key].timezone
    first = a_month(request.query.get("month"), month_of(app[clock_key]().astimezone(zone).date()))
    months = query_number(request, "months", 1, 12)
    start, end = month_span(first, months, zone)
    db = app[db_key]
    shifts = await duty.shifts_between(db, start, end)
    leaders = await duty.leaders_by_id(db)
    holidays = await duty_bulk.list_holidays(db, start.date(), end.date())
    return web.json_response(
        {
            "month": f"{first:%Y-%m}",
            "months": months,
            "shifts": [shift_out(s, leaders, zone) for s in shifts],
            "holidays": [holiday_out(h) for h in holidays],
        }
    )


@require_role(Role.OFFICE)
async def create_shift(request: web.Request) -> web.StreamResponse:
    """Add a shift; 400 bad or past times or leader, 409 overlapping another shift."""
    edit = shift_edit(request)
    draft = draft_of(shift_in(await json_body(request), edit["zone"]))
    with schedule_errors():
        shift = await duty.create_shift(request.config_dict[db_key], draft, **edit)
    return await _shift_response(request, shift, status=201)


@require_role(Role.OFFICE)
async def update_shift(request: web.Request) -> web.StreamResponse:
    """Change a shift; checked as a new one would be (a running shift keeps its start)."""
    edit, shift_id = shift_edit(request), path_id(request, "shift_id")
    fields = shift_in(await json_body(request), edit["zone"], partial=True)
    with schedule_errors():
        shift = await duty.update_shift(request.config_dict[db_key], shift_id, **edit, **fields)
    return await _shift_response(request, shift)


async def _shift_response(request: web.Request, shift: Shift, *, status: int = 200) -> web.Response:
    leaders = await duty.leaders_by_id(request.config_dict[db_key])
    zone = request.config_dict[policy_key].timezone
    return web.json_response({"shift": shift_out(shift, leaders, zone)}, status=status)


@require_role(Role.OFFICE)
async def delete_shift(request: web.Request) -> web.StreamResponse:
    """Remove a shift that is not over yet."""
    with schedule_errors():
        await duty.delete_shift(
            request.config_dict[db_key], path_id(request, "shift_id"), **shift_edit(request)
        )
    return web.json_response({"deleted": True})


@require_role(*VIEWERS)
async def list_holidays(request: web.Request) -> web.StreamResponse:
    """The holiday list of a year (this year by default)."""
    app = request.config_dict
    today = app[clock_key]().astimezone(app[policy_key].timezone).date()
    year = query_number(request, "year", today.year, 9000, low=1970)
    holidays = await duty_bulk.list_holidays(app[db_key], date(year, 1, 1), date(year + 1, 1, 1))
    return web.json_response({"year": year, "holidays": [holiday_out(h) for h in holidays]})


@require_role(Role.OFFICE)
async def save_holiday(request: web.Request) -> web.StreamResponse:
    """Put a day on the holiday list (kind `holiday` or `workday`), or change its entry."""
    body = await json_body(request)
    with schedule_errors():
        holiday = await duty_bulk.save_holiday(
            request.config_dict[db_key],
            a_date(body.get("day"), "day"),
            text(body.get("name", ""), "name"),
            text(body.get("kind", "holiday"), "kind"),
            **signed(request),
        )
    return web.json_response({"holiday": holiday_out(holiday)})


@require_role(Role.OFFICE)
async def delete_holiday(request: web.Request) -> web.StreamResponse:
    """Take a day off the holiday list."""
    day = request.match_info["day"]
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        raise web.HTTPNotFound(text=f"{day!r} is not a day on the holiday list") from None
    with schedule_errors():
        await duty_bulk.delete_holiday(request.config_dict[db_key], parsed, **signed(request))
    return web.json_response({"deleted": True})


@require_role(*VIEWERS)
async def on_duty_now(request: web.Request) -> web.StreamResponse:
    """Who takes the hotline's calls right now, as the call flow would see it."""
    app = request.config_dict
    found = await duty.duty_now(app[db_key], app[clock_key]())
    if found is None:
        return web.json_response({"duty": None})
    shift = shift_out(found.shift, {found.leader.id: found.leader}, app[policy_key].timezone)
    return web.json_response({"duty": {"leader": leader_out(found.leader), "shift": shift}})


@require_role(Role.OFFICE)
async def audit_log(request: web.Request) -> web.StreamResponse:
    """The latest changes to the schedule, newest first."""
    app = request.config_dict
    limit = query_number(request, "limit", 50, duty_audit.MAX_ENTRIES)
    entries = await duty_audit.audit_log(app[db_key], limit=limit)
    zone = app[policy_key].timezone
    return web.json_response({"entries": [audit_out(e, zone) for e in entries]})
