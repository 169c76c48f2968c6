"""The workflow's JSON API: a case's file and every move on it.

GET  /api/workflow/cases                       department: its desk; office: the board
GET  /api/workflow/cases/{id}                  the case's file, masked for the viewer
POST /api/workflow/cases/{id}/dispatch         office (agent if allowed) {department?, co?,
                                               instructions?}
POST /api/workflow/cases/{id}/accept           department                 {}
POST /api/workflow/cases/{id}/return           lead department            {reason}
POST /api/workflow/cases/{id}/redispatch       office                     {department, co?,
                                               instructions?}
POST /api/workflow/cases/{id}/reject-return    office                     {reason}
POST /api/workflow/cases/{id}/extension        lead department            {days, reason}
POST /api/workflow/cases/{id}/extension/approve  office                   {note?}
POST /api/workflow/cases/{id}/extension/deny   office                     {reason}
POST /api/workflow/cases/{id}/notes            department, office         {text}
POST /api/workflow/cases/{id}/reply            lead department            {result, handler,
                                               handled_on: "YYYY-MM-DD"}
POST /api/workflow/cases/{id}/follow-up        office   {resolved, satisfaction,
                                               citizen_words?, override_reason?}
POST /api/workflow/cases/{id}/reopen           office   {citizen_words, department?, reason?}
POST /api/workflow/cases/{id}/archive          office                     {reason?}
POST /api/workflow/cases/{id}/merge            office   {into: id or case number, version?,
                                               into_version?, reason?}  (并单)
POST /api/workflow/cases/{id}/unmerge          office                     {reason}
(departments and the catalogue: ivr.web.workflow_catalogue_api; the duplicates suggested
for a case: ivr.web.merge_api)

Each move answers with the case's new file. Errors, as `{"error": ...}`: 400 a missing or
bad field (no reply result, 11 extension days, an unknown department), 403 not this role's
to do (a co-handler replying, an agent dispatching when the settings say no), 404 no such
case, or a department's question about a case that is not theirs (never 403: ids do not
tell what exists), 409 not in the case's present state (archived, already dispatched,
return window over, a second extension). A refused move changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ivr.db import merging, workflow, workflow_views
from ivr.db import workflow_close as closing
from ivr.db import workflow_handling as handling
from ivr.db.models import Role
from ivr.db.workflow_state import Actor
from ivr.errors import RecordNotFound, StaleEdit, ValidationError
from ivr.web import merge_api, workflow_catalogue_api
from ivr.web.cases_api import path_id
from ivr.web.guard import Handler, logged_in, require_role
from ivr.web.state import clock_key, db_key, policy_key
from ivr.web.workflow_json import board_json, desk_json, file_json
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import ActionRefused, RefusalKind

rules_key: web.AppKey[WorkflowRules] = web.AppKey("workflow_rules")
PREFIX = "/api/workflow/cases/{case_id}"
Move = Callable[..., Awaitable[object]]


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the workflow API (the catalogue's too)."""
    router.add_get("/api/workflow/cases", list_cases)
    router.add_get(PREFIX, get_file)
    for path, handler in MOVES.items():
        router.add_post(PREFIX + path, handler)
    workflow_catalogue_api.add_routes(router)
    merge_api.add_routes(router)


def rules_of(request: web.Request) -> WorkflowRules:
    """The workflow rules the app was given, else the defaults in the console's zone."""
    rules = request.config_dict.get(rules_key)
    return rules or WorkflowRules(zone=request.config_dict[policy_key].timezone)


def actor_of(request: web.Request) -> Actor:
    """The logged-in user as a workflow actor."""
    return Actor.of(logged_in(request).user)


@require_role(Role.DEPARTMENT, Role.OFFICE)
async def list_cases(request: web.Request) -> web.StreamResponse:
    """A department's desk, or the office's board."""
    db, user = request.config_dict[db_key], logged_in(request).user
    now = request.config_dict[clock_key]()
    if user.role is Role.DEPARTMENT:
        desk = await workflow_views.department_desk(db, user.department or "")
        return web.json_response({"cases": [desk_json(item, user, now) for item in desk]})
    board = await workflow_views.office_board(db)
    return web.json_response(board_json(board, user, now))


@require_role(Role.DEPARTMENT, Role.OFFICE)
async def get_file(request: web.Request) -> web.StreamResponse:
    """The case's file as the viewer may see it."""
    return web.json_response(await current_file(request, path_id(request, "case_id")))


async def current_file(request: web.Request, case_id: int) -> dict[str, Any]:
    """The viewer's JSON of the case's file; 404 when they may not know the case."""
    db, user = request.config_dict[db_key], logged_in(request).user
    now = request.config_dict[clock_key]()
    try:
        found = await workflow_views.case_file(
            db, case_id, actor=actor_of(request), at=now, rules=rules_of(request)
        )
    except RecordNotFound as exc:
        raise web.HTTPNotFound(text=f"no case {case_id}") from exc
    return file_json(found, user, now)


def move(work: Move, *fields: str) -> Handler:
    """A handler that runs `work` on the case with these body fields, then shows the file."""

    async def handle(request: web.Request) -> web.StreamResponse:
        case_id = path_id(request, "case_id")
        body = await _body(request)
        values = {name: body.get(name) for name in fields}
        app = request.config_dict
        try:
            done = await work(
                app[db_key],
                case_id,
                actor=actor_of(request),
                at=app[clock_key](),
                rules=rules_of(request),
                **values,
            )
        except ActionRefused as exc:
            status = web.HTTPForbidden if exc.kind is RefusalKind.FORBIDDEN else web.HTTPConflict
            raise status(text=str(exc)) from exc
        except ValidationError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        except StaleEdit as exc:
            raise web.HTTPConflict(text=str(exc)) from exc
        except RecordNotFound as exc:
            raise web.HTTPNotFound(text=f"no case {case_id}") from exc
        answer = await current_file(request, case_id)
        if isinstance(done, closing.FollowUpOutcome):
            answer["reopened"] = done.reopened
        return web.json_response(answer)

    # named after the move, so logs and tracebacks say which it was
    handle.__name__ = handle.__qualname__ = work.__name__
    return handle


async def _body(request: web.Request) -> dict[str, Any]:
    # a move without fields may come with no body at all
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        raise web.HTTPBadRequest(text="the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


OFFICE, DEPARTMENT = Role.OFFICE, Role.DEPARTMENT
MOVES: dict[str, Handler] = {
    "/dispatch": require_role(OFFICE, Role.AGENT)(
        move(workflow.dispatch, "department", "co", "instructions")
    ),
    "/accept": require_role(DEPARTMENT)(move(workflow.accept)),
    "/return": require_role(DEPARTMENT)(move(workflow.return_case, "reason")),
    "/redispatch": require_role(OFFICE)(
        move(workflow.redispatch, "department", "co", "instructions")
    ),
    "/reject-return": require_role(OFFICE)(move(workflow.reject_return, "reason")),
    "/extension": require_role(DEPARTMENT)(move(handling.request_extension, "days", "reason")),
    "/extension/approve": require_role(OFFICE)(move(handling.approve_extension, "note")),
    "/extension/deny": require_role(OFFICE)(move(handling.deny_extension, "reason")),
    "/notes": require_role(DEPARTMENT, OFFICE)(move(handling.add_note, "text")),
    "/reply": require_role(DEPARTMENT)(move(handling.reply, "result", "handler", "handled_on")),
    "/follow-up": require_role(OFFICE)(
        move(
            closing.record_follow_up,
            "resolved",
            "satisfaction",
            "citizen_words",
            "override_reason",
        )
    ),
    "/reopen": require_role(OFFICE)(
        move(closing.reopen, "citizen_words", "department", "co", "reason")
    ),
    "/archive": require_role(OFFICE)(move(closing.archive, "reason")),
    "/merge": require_role(OFFICE)(
        move(merging.merge, "into", "version", "into_version", "reason")
    ),
    "/unmerge": require_role(OFFICE)(move(merging.unmerge, "reason")),
}
