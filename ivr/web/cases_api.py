"""The case form's API: read a case, register (受理) it, open one by hand, its recording.

GET  /api/cases/{id}            the case, the caller's other cases, the call (masked per viewer)
POST /api/cases/{id}/register   {"version": n, "fields": {...}}: the agent's edits, then 受理
POST /api/cases                 {"channel": "walk_in"|"mailbox", "caller_number": ..., "fields"}
POST /api/pops/{id}/dismiss     take a pop off my screen; its draft goes to the work queue
GET  /api/cases/{id}/recording  the caller's recorded request (WAV)

Agents and duty leaders register only what they hold (on their screen or claimed); the
office may register any draft. Errors: 400 bad JSON or field, 403 not yours / masked,
404 unknown case, 409 edited by someone else since it was loaded (nothing is overwritten).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, NamedTuple

from aiohttp import web
from sqlalchemy import select

from ivr.cases.masking import may_see_identity
from ivr.db import cases, registration, screen_pops
from ivr.db.calls import Sessions
from ivr.db.console_models import PopClose
from ivr.db.models import Call, Recording, Role
from ivr.errors import RecordNotFound, StaleEdit, ValidationError
from ivr.web.case_json import case_bundle, case_json
from ivr.web.guard import logged_in, require_role
from ivr.web.pop_bus import Notice, NoticeKind, pop_bus_key
from ivr.web.state import clock_key, db_key, policy_key, recordings_key

MAX_ID = 2**31 - 1
NOT_YOURS = "这张工单不在您的工作台上（来电未接通，或未认领），不能受理"


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the case API."""
    router.add_get("/api/cases/{case_id}", get_case)
    router.add_post("/api/cases/{case_id}/register", register_case)
    router.add_post("/api/cases", open_case)
    router.add_post("/api/pops/{pop_id}/dismiss", dismiss_pop)
    router.add_get("/api/cases/{case_id}/recording", get_recording)


@require_role(Role.AGENT, Role.OFFICE, Role.LEADER)
async def get_case(request: web.Request) -> web.StreamResponse:
    """A case as the viewer may see it."""
    db, user = request.config_dict[db_key], logged_in(request).user
    case = await _case(db, path_id(request, "case_id"))
    holds = await screen_pops.holds_case(db, user.username, case.id)
    uniqueid = await _call_of(db, case.id)
    return web.json_response(await case_bundle(db, case, user, holds=holds, call_uniqueid=uniqueid))


class Asked(NamedTuple):
    """A registration someone may make: the request's body, its version and its edits."""

    body: dict[str, Any]
    version: int
    fields: dict[str, object]


@require_role(Role.AGENT, Role.OFFICE, Role.LEADER)
async def register_case(request: web.Request) -> web.StreamResponse:
    """受理: the edits and the registration in one step, refused on a stale version."""
    db, user = request.config_dict[db_key], logged_in(request).user
    case_id = path_id(request, "case_id")
    asked = await registration_asked(request, case_id)
    try:
        done = await registration.register_draft(
            db,
            case_id,
            actor=user.username,
            edits=asked.fields,
            expected_version=asked.version,
            at=request.config_dict[clock_key](),
            timezone=request.config_dict[policy_key].timezone.key,
        )
    except StaleEdit as exc:
        raise web.HTTPConflict(text=str(exc)) from exc
    except ValidationError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    await announce_closed(request, done.closed_pops)
    return web.json_response({"case": case_json(done.case, user, holds=True)})


async def registration_asked(request: web.Request, case_id: int) -> Asked:
    """What a registration request asks, once the user may register this case (400, 403 for
    a draft they do not hold, 404 for no such case)."""
    db, user = request.config_dict[db_key], logged_in(request).user
    body = await json_body(request)
    version, fields = body.get("version"), _fields(body)
    if not isinstance(version, int) or isinstance(version, bool):
        raise web.HTTPBadRequest(text="version must be the integer the case was loaded with")
    await _case(db, case_id)  # 404 before 403: an unknown case is not "not yours"
    if user.role is not Role.OFFICE and not await screen_pops.holds_case(
        db, user.username, case_id, answered=True
    ):
        raise web.HTTPForbidden(text=NOT_YOURS)
    # only the leader's own registration (or the office) says a case is a leader's
    if user.role is Role.LEADER:
        fields["leader_handled"] = True
    elif user.role is Role.AGENT:
        fields.pop("leader_handled", None)
    return Asked(body, version, fields)


@require_role(Role.AGENT, Role.OFFICE)
async def open_case(request: web.Request) -> web.StreamResponse:
    """A case opened by hand (walk-in, mailbox letter), registered at once."""
    db, user = request.config_dict[db_key], logged_in(request).user
    body = await json_body(request)
    channel, caller = body.get("channel"), body.get("caller_number", "")
    if not isinstance(channel, str) or not isinstance(caller, str):
        raise web.HTTPBadRequest(text="channel and caller_number must be text")
    try:
        case = await registration.open_manual_case(
            db,
            actor=user.username,
            channel=channel,
            caller_number=caller.strip(),
            edits=_fields(body),
            at=request.config_dict[clock_key](),
            timezone=request.config_dict[policy_key].timezone.key,
        )
    except ValidationError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response({"case": case_json(case, user, holds=True)}, status=201)


@require_role(Role.AGENT, Role.LEADER)
async def dismiss_pop(request: web.Request) -> web.StreamResponse:
    """Close a pop of mine without registering (the draft waits in the work queue)."""
    db, user = request.config_dict[db_key], logged_in(request).user
    pop = await screen_pops.get_pop(db, path_id(request, "pop_id"))
    if pop is None or pop.username != user.username:
        raise web.HTTPNotFound(text="no such pop on your screen")
    now = request.config_dict[clock_key]()
    closed = await screen_pops.close_pops(
        db, pop.case_id, reason=PopClose.DISMISSED, at=now, username=user.username
    )
    await announce_closed(request, closed)
    return web.json_response({"closed": [gone.id for gone in closed]})


@require_role(Role.AGENT, Role.OFFICE, Role.LEADER)
async def get_recording(request: web.Request) -> web.StreamResponse:
    """The recorded request, for those who may hear the caller's voice."""
    db, user = request.config_dict[db_key], logged_in(request).user
    case = await _case(db, path_id(request, "case_id"))
    holds = await screen_pops.holds_case(db, user.username, case.id)
    if case.whistleblower and not may_see_identity(user.role, holds_case=holds, status=case.status):
        raise web.HTTPForbidden(text="举报人录音已保密")
    path = await _recording_path(db, case.id, request.config_dict[recordings_key])
    return web.FileResponse(path, headers={"Content-Type": "audio/wav"})


async def announce_closed(request: web.Request, pops: list[screen_pops.PopView]) -> None:
    """Tell the pages showing these pops that they are closed."""
    bus = request.config_dict[pop_bus_key]
    for pop in pops:
        await bus.publish(Notice(pop.username, NoticeKind.CLOSE, pop.id, pop.case_id))


def path_id(request: web.Request, name: str) -> int:
    """A numeric id from the URL; 404 for anything else (no 500 on `abc` or 10**30)."""
    raw = request.match_info[name]
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise web.HTTPNotFound(text=f"no {name.removesuffix('_id')} {raw!r}")
    return int(raw)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or 400 saying what is wrong with it."""
    try:
        body = await request.json()
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested thousands deep
        raise web.HTTPBadRequest(text="the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


def _fields(body: dict[str, Any]) -> dict[str, object]:
    fields = body.get("fields", {})
    if not isinstance(fields, dict):
        raise web.HTTPBadRequest(text="fields must be an object of case fields")
    return {str(k): v.strip() if isinstance(v, str) else v for k, v in fields.items()}


async def _case(db: Sessions, case_id: int) -> cases.CaseView:
    try:
        return await cases.get_case(db, case_id)
    except RecordNotFound as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc


async def _call_of(db: Sessions, case_id: int) -> str | None:
    async with db() as session:
        query = select(Call.uniqueid).where(Call.case_id == case_id).order_by(Call.id)
        return await session.scalar(query.limit(1))


async def _recording_path(db: Sessions, case_id: int, root: Path) -> Path:
    query = (
        select(Recording.path)
        .join(Call, Call.id == Recording.call_id)
        .where(Call.case_id == case_id)
        .order_by(Recording.id)
    )
    async with db() as session:
        stored = await session.scalar(query.limit(1))
    if stored is None:
        raise web.HTTPNotFound(text=f"case {case_id} has no recording")
    # the path comes from our own database, but is checked anyway: never outside recordings/
    path = await asyncio.to_thread(_inside, root, stored)
    if path is None:
        raise web.HTTPNotFound(text=f"the recording of case {case_id} is missing")
    return path


def _inside(root: Path, stored: str) -> Path | None:
    path = (root / stored).resolve()
    return path if path.is_relative_to(root.resolve()) and path.is_file() else None
