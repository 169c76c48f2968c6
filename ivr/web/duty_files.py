"""The duty schedule's rotation and files: propose, publish, export, import.

POST /api/duty/rotation    {"month": "YYYY-MM", "months": 1-12, "days_per_month": n,
                            "start": "09:00", "end": "12:00"} → a proposal, nothing saved
POST /api/duty/publish     {"shifts": [{"leader_id", "date", "start", "end", "note"}, ...]}
                            (or starts_at/ends_at with offsets): all saved, or none
GET  /api/duty/export.csv  ?month=YYYY-MM&months=N (this month and the next two by default)
GET  /api/duty/export.ics  the same months as iCalendar
POST /api/duty/import      a CSV or iCalendar file as the body (text/csv, text/calendar,
                            or recognised by its first line); replaces the future shifts
                            of the months it covers, all rows or none

A refused batch answers 400 with {"error": ..., "problems": ["row 3: ...", ...]}.
"""

from __future__ import annotations

from datetime import date, time, timedelta, tzinfo
from typing import Any

from aiohttp import web

from ivr.db import duty, duty_bulk
from ivr.db.models import Role
from ivr.duty import exchange
from ivr.duty.model import Leader, Shift
from ivr.duty.months import add_months, month_of, month_span
from ivr.duty.rotation import DEFAULT_DAYS_PER_MONTH, RotationRequest, propose_rotation
from ivr.errors import ImportRejected
from ivr.web.cases_api import json_body
from ivr.web.duty_json import (
    a_month,
    a_time,
    draft_of,
    integer,
    query_number,
    rejected,
    schedule_errors,
    shift_edit,
    shift_in,
    shift_out,
)
from ivr.web.guard import require_role
from ivr.web.state import clock_key, db_key, policy_key

EXPORT_MONTHS = 3
ICS_TYPES = ("text/calendar", "application/ics")


def add_routes(router: web.UrlDispatcher) -> None:
    """Register rotation, publishing and the schedule files."""
    router.add_post("/api/duty/rotation", propose)
    router.add_post("/api/duty/publish", publish)
    router.add_get("/api/duty/export.csv", export_csv)
    router.add_get("/api/duty/export.ics", export_ics)
    router.add_post("/api/duty/import", import_file)


@require_role(Role.OFFICE)
async def propose(request: web.Request) -> web.StreamResponse:
    """A rotation for the asked months on free working days; saves nothing."""
    app = request.config_dict
    zone, now = app[policy_key].timezone, app[clock_key]()
    today = now.astimezone(zone).date()
    wanted = _rotation_request(await json_body(request), today, zone)
    db = app[db_key]
    context = await duty_bulk.rotation_context(db, wanted.first_month, wanted.months, zone)
    with schedule_errors():
        shifts = propose_rotation(
            context.leaders,
            wanted,
            context.holidays,
            today=today,
            taken=context.taken,
            previous_leader_id=context.previous_leader_id,
        )
    leaders = {x.id: x for x in context.leaders}
    return web.json_response(
        {
            "month": f"{wanted.first_month:%Y-%m}",
            "months": wanted.months,
            "asked": wanted.months * wanted.days_per_month,
            "shifts": [shift_out(s, leaders, zone) for s in shifts],
        }
    )


def _rotation_request(body: dict[str, Any], today: date, zone: tzinfo) -> RotationRequest:
    # Defaults: next month, two days, 09:00-12:00; "24:00" is how a page writes midnight.
    month = body.get("month")
    per_month = body.get("days_per_month", DEFAULT_DAYS_PER_MONTH)
    end = body.get("end", "12:00")
    return RotationRequest(
        first_month=a_month(month if isinstance(month, str) else None, add_months(today, 1)),
        months=integer(body.get("months", 1), "months", 1, 12),
        days_per_month=integer(per_month, "days_per_month", 1, 31),
        start=a_time(body.get("start", "09:00"), "start"),
        end=time() if end == "24:00" else a_time(end, "end"),
        zone=zone,
    )


@require_role(Role.OFFICE)
async def publish(request: web.Request) -> web.StreamResponse:
    """Save the (edited) proposal's shifts, all of them or none."""
    app = request.config_dict
    zone = app[policy_key].timezone
    items = (await json_body(request)).get("shifts")
    if not isinstance(items, list):
        raise web.HTTPBadRequest(text="shifts must be a list of shifts")
    drafts: list[Shift] = []
    for number, item in enumerate(items, start=1):
        try:
            if not isinstance(item, dict):
                raise web.HTTPBadRequest(text="a shift must be an object")
            drafts.append(draft_of(shift_in(item, zone)))
        except web.HTTPBadRequest as exc:
            raise web.HTTPBadRequest(text=f"shift {number}: {exc.text}") from None
    try:
        with schedule_errors():
            saved = await duty_bulk.publish_shifts(app[db_key], drafts, **shift_edit(request))
    except ImportRejected as exc:
        return rejected(exc, "the rotation was not published")
    leaders = await duty.leaders_by_id(app[db_key])
    return web.json_response({"shifts": [shift_out(s, leaders, zone) for s in saved]}, status=201)


@require_role(Role.OFFICE, Role.LEADER)
async def export_csv(request: web.Request) -> web.StreamResponse:
    """The months' shifts as CSV for Excel (UTF-8 with a byte-order mark)."""
    shifts, leaders, label = await _exported(request)
    data = exchange.write_csv(shifts, leaders, request.config_dict[policy_key].timezone)
    return _download(data, "text/csv", f"duty-{label}.csv")


@require_role(Role.OFFICE, Role.LEADER)
async def export_ics(request: web.Request) -> web.StreamResponse:
    """The months' shifts as an iCalendar file."""
    shifts, leaders, label = await _exported(request)
    data = exchange.write_ics(shifts, leaders, stamp=request.config_dict[clock_key]())
    return _download(data, "text/calendar", f"duty-{label}.ics")


async def _exported(request: web.Request) -> tuple[list[Shift], dict[int, Leader], str]:
    app = request.config_dict
    zone = app[policy_key].timezone
    this_month = month_of(app[clock_key]().astimezone(zone).date())
    first = a_month(request.query.get("month"), this_month)
    months = query_number(request, "months", EXPORT_MONTHS, 12)
    shifts = await duty.shifts_between(app[db_key], *month_span(first, months, zone))
    leaders = await duty.leaders_by_id(app[db_key])
    last = add_months(first, months) - timedelta(days=1)
    label = f"{first:%Y-%m}" if months == 1 else f"{first:%Y-%m}-to-{last:%Y-%m}"
    return shifts, leaders, label


def _download(data: bytes, content_type: str, filename: str) -> web.Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return web.Response(body=data, content_type=content_type, charset="utf-8", headers=headers)


@require_role(Role.OFFICE)
async def import_file(request: web.Request) -> web.StreamResponse:
    """Replace the future shifts of the file's months with the file's, all rows or none."""
    app = request.config_dict
    zone = app[policy_key].timezone
    data = await request.read()
    db = app[db_key]
    leaders = await duty.list_leaders(db)
    try:
        with schedule_errors():
            if _is_calendar(request, data):
                rows = exchange.read_ics(data, leaders)
            else:
                rows = exchange.read_csv(data, leaders, zone)
            done = await duty_bulk.import_schedule(db, rows, **shift_edit(request))
    except ImportRejected as exc:
        return rejected(exc, "the file was not imported")
    return web.json_response(
        {"added": len(done.added), "removed": len(done.removed), "unchanged": done.unchanged}
    )


def _is_calendar(request: web.Request, data: bytes) -> bool:
    if request.content_type in ICS_TYPES:
        return True
    if request.content_type == "text/csv":
        return False
    return data.lstrip(b"\xef\xbb\xbf \r\n\t").upper().startswith(b"BEGIN:VCALENDAR")
