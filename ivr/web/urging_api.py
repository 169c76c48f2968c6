"""The urging API: reminders (催办), the supervision list (督办), the notice list (通报).

GET  /api/workflow/reminders                     department: its own reminders;
                                                 office: everyone's (?department=name)
POST /api/workflow/reminders/{id}/acknowledge    department: 已阅, its own only
GET  /api/workflow/supervision                   office: escalated and still late
GET  /api/workflow/notices                       office: every notice (通报)

A department never learns of another department's reminders: acknowledging one is a 404,
as for a reminder that does not exist. Unread reminders come first; acknowledging twice
changes nothing the second time.
"""

from __future__ import annotations

from aiohttp import web

from ivr.db import urging_views
from ivr.db.models import Role
from ivr.errors import RecordNotFound
from ivr.web.cases_api import path_id
from ivr.web.guard import logged_in, require_role
from ivr.web.state import clock_key, db_key
from ivr.web.urging_json import reminder_json, reminders_json
from ivr.web.workflow_api import actor_of, rules_of

REMINDERS = "/api/workflow/reminders"


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the urging API."""
    router.add_get(REMINDERS, list_reminders)
    router.add_post(REMINDERS + "/{reminder_id}/acknowledge", acknowledge)
    router.add_get("/api/workflow/supervision", supervision)
    router.add_get("/api/workflow/notices", notices)


@require_role(Role.DEPARTMENT, Role.OFFICE)
async def list_reminders(request: web.Request) -> web.StreamResponse:
    """The department's reminders, or (office) everyone's or one department's."""
    items = await reminder_items(request)
    return web.json_response(reminders_json(items, logged_in(request).user))


@require_role(Role.DEPARTMENT)
async def acknowledge(request: web.Request) -> web.StreamResponse:
    """已阅: the department has read one of its reminders."""
    reminder_id = path_id(request, "reminder_id")
    app, user = request.config_dict, logged_in(request).user
    db, now = app[db_key], app[clock_key]()
    try:
        await urging_views.acknowledge(db, reminder_id, actor=actor_of(request), at=now)
    except RecordNotFound as exc:
        raise web.HTTPNotFound(text=f"no reminder {reminder_id}") from exc
    found = await urging_views.reminder(db, reminder_id, now=now, rules=rules_of(request))
    return web.json_response(reminder_json(found, user))


@require_role(Role.OFFICE)
async def supervision(request: web.Request) -> web.StreamResponse:
    """督办: cases escalated and still late, the longest late first."""
    app = request.config_dict
    items = await urging_views.supervision_list(
        app[db_key], now=app[clock_key](), rules=rules_of(request)
    )
    return web.json_response(reminders_json(items, logged_in(request).user))


@require_role(Role.OFFICE)
async def notices(request: web.Request) -> web.StreamResponse:
    """通报: every notice, the newest first."""
    app = request.config_dict
    items = await urging_views.notice_list(
        app[db_key], now=app[clock_key](), rules=rules_of(request)
    )
    return web.json_response(reminders_json(items, logged_in(request).user))


async def reminder_items(request: web.Request) -> list[urging_views.ReminderItem]:
    """A department's own reminders; the office's: everyone's, or `?department=`'s."""
    app, user = request.config_dict, logged_in(request).user
    db, now, rules = app[db_key], app[clock_key](), rules_of(request)
    if user.role is Role.DEPARTMENT:
        department = user.department or ""
        return await urging_views.department_reminders(db, department, now=now, rules=rules)
    asked = request.query.get("department") or None
    return await urging_views.all_reminders(db, department=asked, now=now, rules=rules)
