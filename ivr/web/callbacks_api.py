"""漏接回拨 over HTTP, for agents and the office: the list, one-click call back, the outcome.

GET  /callbacks                          the page (ivr.web.callbacks_page, callbacks.js)
GET  /api/callbacks                      {"items": [caller rows], "recent": [call backs, 24 h]}
POST /api/callbacks/attempts             {"call_id": n} or {"case_id": n}: ring the agent's
                                         phone, then the caller; answers once the agent
                                         picked up (outcome "placed") or did not ("failed"),
                                         or Asterisk did not say ("placed", result_pending)
POST /api/callbacks/attempts/{id}/note   {"note": "...", "done": true}: what was agreed;
                                         `done` takes the caller off the list

A reporter's (举报) number is masked for whoever may not see it (ivr.web.callbacks_json), who
calls them back through the report's id only: their ordinary call or case is refused as not
on the list.

Errors, as {"error": "..."} in Chinese: 400 a body that is not what is asked, a number that
cannot be dialled, a note too long; 403 another role, or another agent's call back; 404 no
such call, case or call back; 409 no phone interface for this user, the caller is not (or no
longer, or not through this target) on the list, another agent is calling them, a call back
not yet over marked done; 503 no telephony (AMI down).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web

from ivr.callback_dialer import Ring, place_callback
from ivr.db import callback_attempts, callback_views, callbacks
from ivr.db.callback_attempts import Target
from ivr.db.callback_views import AttemptView, CallbackRow
from ivr.db.calls import Sessions
from ivr.db.models import Role
from ivr.errors import ClaimConflict, RecordNotFound, ValidationError
from ivr.web import callbacks_page
from ivr.web.callbacks_json import Reporters, attempt_json, list_json, may_call
from ivr.web.cases_api import MAX_ID
from ivr.web.guard import logged_in, require_role
from ivr.web.presence import telephony_key
from ivr.web.state import clock_key, db_key, settings_key

log = structlog.get_logger(__name__)

RECENT = timedelta(hours=24)
UNAVAILABLE = "电话系统暂不可用（与 Asterisk 的管理连接中断），请稍后再试"
NO_INTERFACE = "您的账号没有设置坐席分机（如 PJSIP/8001），无法回拨：请联系热线办设置"
PENDING = "电话系统未及时确认回拨（管理连接超时或中断）：通话可能仍在进行，结果待定，稍后自动更新"
BAD_TARGET = '请求须为 JSON，如 {"call_id": 123} 或 {"case_id": 45}'
TARGET_NAMES = {"call_id": "来电", "case_id": "工单"}
ATTEMPT_PATH = "/api/callbacks/attempts/{attempt_id:[0-9]{1,10}}"


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the call-back page and its API."""
    router.add_get("/callbacks", callbacks_page.callbacks_page)
    router.add_get("/api/callbacks", callback_list)
    router.add_post("/api/callbacks/attempts", call_back)
    router.add_post(f"{ATTEMPT_PATH}/note", note_attempt)


@require_role(Role.AGENT, Role.OFFICE)
async def callback_list(request: web.Request) -> web.StreamResponse:
    """The callers owed a call back, and the last day's call backs."""
    app, viewer = request.config_dict, logged_in(request).user
    now = app[clock_key]()
    rows = await callbacks.callback_list(app[db_key], now=now)
    recent = await callback_views.recent_attempts(app[db_key], since=now - RECENT)
    reporters = await _reporters(app[db_key], rows, recent)
    return web.json_response(
        {
            **list_json(rows, recent, reporters, viewer, now),
            "interface": viewer.interface,
            "ring_seconds": app[settings_key].callback_ring_seconds,
        }
    )


@require_role(Role.AGENT, Role.OFFICE)
async def call_back(request: web.Request) -> web.StreamResponse:
    """Ring the agent's own phone; once they answer, the caller's."""
    app, user = request.config_dict, logged_in(request).user
    if not user.interface:
        raise web.HTTPConflict(text=NO_INTERFACE)
    target = _target(await _json(request))
    telephony = app.get(telephony_key)
    if telephony is None or not telephony.ami.logged_in.is_set():
        raise web.HTTPServiceUnavailable(text=UNAVAILABLE)
    with _http_errors():
        placed = await place_callback(
            telephony.ami,
            app[settings_key],
            app[db_key],
            target,
            agent=user.username,
            interface=user.interface,
            clock=app[clock_key],
            may_call=functools.partial(may_call, user),
        )
    if placed.ring is Ring.REFUSED and not telephony.ami.logged_in.is_set():
        raise web.HTTPServiceUnavailable(text=UNAVAILABLE)
    reporters = await _reporters(app[db_key], (), [placed.attempt])
    body = attempt_json(placed.attempt, user, app[clock_key](), listed=True, reporters=reporters)
    body["result_pending"] = placed.pending
    if placed.ring is Ring.REFUSED:
        body["message"] = f"您的话机（{user.interface}）未接听或无法呼叫，未能回拨"
    elif placed.pending:
        body["message"] = PENDING
    return web.json_response(body)


@require_role(Role.AGENT, Role.OFFICE)
async def note_attempt(request: web.Request) -> web.StreamResponse:
    """Note what was agreed on a call back; `done` takes the caller off the list."""
    app, user = request.config_dict, logged_in(request).user
    attempt_id = _attempt_id(request)
    note, done = _note_fields(await _json(request))
    with _http_errors():
        attempt = await callback_views.get_attempt(app[db_key], attempt_id)
        if user.role is not Role.OFFICE and attempt.agent != user.username:
            raise web.HTTPForbidden(text="只能为自己的回拨填写备注或办结")
        now = app[clock_key]()
        attempt = await callback_attempts.annotate(
            app[db_key], attempt_id, note=note, done=done, actor=user.username, at=now
        )
    log.info("callback_noted", attempt_id=attempt_id, username=user.username, done=done)
    listed = await callbacks.is_owed(app[db_key], attempt.number, now=now)
    reporters = await _reporters(app[db_key], (), [attempt])
    return web.json_response(attempt_json(attempt, user, now, listed=listed, reporters=reporters))


async def _reporters(
    db: Sessions, rows: Iterable[CallbackRow], attempts: Iterable[AttemptView]
) -> Reporters:
    rows, attempts = list(rows), list(attempts)
    numbers = {row.number for row in rows} | {attempt.number for attempt in attempts}
    return Reporters.of(await callback_views.callers_of(db, numbers), rows, attempts)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        raise web.HTTPBadRequest(text=BAD_TARGET) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=BAD_TARGET)
    return body


def _target(body: dict[str, Any]) -> Target:
    given = {key: body[key] for key in TARGET_NAMES if body.get(key) is not None}
    if len(given) != 1:
        raise web.HTTPBadRequest(text="请给出要回拨的来电 call_id 或工单 case_id，二者选一")
    ((key, value),) = given.items()
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise web.HTTPBadRequest(text=f"{key} 须为正整数，而不是 {value!r}")
    if value > MAX_ID:
        raise web.HTTPNotFound(text=f"没有编号为 {value} 的{TARGET_NAMES[key]}")
    return Target(**{key: value})


def _note_fields(body: dict[str, Any]) -> tuple[str | None, bool]:
    note, done = body.get("note"), body.get("done", False)
    if note is not None and not isinstance(note, str):
        raise web.HTTPBadRequest(text="备注（note）须为文字")
    if not isinstance(done, bool):
        raise web.HTTPBadRequest(text="办结（done）须为 true 或 false")
    if note is None and not done:
        raise web.HTTPBadRequest(text="请填写备注（note）或办结（done）")
    return note, done


def _attempt_id(request: web.Request) -> int:
    attempt_id = int(request.match_info["attempt_id"])  # the route admits 1-10 ASCII digits
    if attempt_id > MAX_ID:
        raise web.HTTPNotFound(text=f"没有编号为 {attempt_id} 的回拨记录")
    return attempt_id


@contextlib.contextmanager
def _http_errors() -> Iterator[None]:
    try:
        yield
    except RecordNotFound as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    except ValidationError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    except ClaimConflict as exc:
        raise web.HTTPConflict(text=str(exc)) from exc
