"""The agents' work queue over HTTP: the waiting drafts, claiming one, giving it back.

GET  /api/work-queue               {"waiting": n, "items": [...], "mine": <case id> | null}
POST /api/work-queue/claim-next    200 the claimed case; 204 (no body) when nothing waits
POST /api/cases/{case_id}/claim    200 the claimed case (also when it is already yours)
POST /api/cases/{case_id}/release  200 the case, back in the queue

Agents only: 401 when not logged in, 403 for the other roles or a missing CSRF token.
Errors come back as {"error": "..."}: 404 no such case (a case id that is not a number, or
is too large to be one, names no case either); 409 when the claim collides with the case's
state: another agent holds it, you already hold another draft, it is no longer a draft, or
its call is still live. These routes take no body, so a refused claim is always a 409,
never a 400. A whistleblower's number is masked in the list, since no one holds those
drafts; the agent who claims one sees it, as on a screen-pop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

import structlog
from aiohttp import web

from ivr.cases.masking import masked, may_see_identity
from ivr.db import work_queue
from ivr.db.calls import Sessions
from ivr.db.cases import CaseView
from ivr.db.models import CaseStatus, Role
from ivr.db.work_queue import QueueItem
from ivr.errors import ClaimConflict, RecordNotFound, ValidationError
from ivr.web.guard import logged_in, require_role
from ivr.web.state import clock_key, db_key

log = structlog.get_logger(__name__)

# Case ids are 32-bit integers on PostgreSQL; a longer path segment is no case's id.
MAX_CASE_ID = 2**31 - 1
CASE_PATH = "/api/cases/{case_id:[0-9]{1,10}}"


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the work-queue API."""
    router.add_get("/api/work-queue", waiting_drafts)
    router.add_post("/api/work-queue/claim-next", claim_next)
    router.add_post(f"{CASE_PATH}/claim", claim_case)
    router.add_post(f"{CASE_PATH}/release", release_case)


@require_role(Role.AGENT)
async def waiting_drafts(request: web.Request) -> web.StreamResponse:
    """The first waiting drafts, how many wait, and the draft this agent holds."""
    db, user = _db(request), logged_in(request).user
    waiting = await work_queue.list_waiting(db)
    mine = await work_queue.claimed_by(db, user.username)
    # Nobody holds a waiting draft, so the policy hides a whistleblower from everyone here.
    visible = may_see_identity(user.role, holds_case=False, status=CaseStatus.DRAFT)
    return web.json_response(
        {
            "waiting": waiting.waiting,
            "items": [item_json(item, visible=visible) for item in waiting.items],
            "mine": None if mine is None else mine.id,
        }
    )


@require_role(Role.AGENT)
async def claim_next(request: web.Request) -> web.StreamResponse:
    """Claim the most urgent, oldest waiting draft; 204 when the queue is empty."""
    username = logged_in(request).user.username
    with _http_errors():
        view = await work_queue.claim_next(_db(request), username, at=_now(request))
    if view is None:
        return web.Response(status=204)
    log.info("case_claimed", case_id=view.id, username=username, next=True)
    return _case_response(request, view, holds=True)


@require_role(Role.AGENT)
async def claim_case(request: web.Request) -> web.StreamResponse:
    """Claim this waiting draft."""
    case_id, username = _case_id(request), logged_in(request).user.username
    with _http_errors():
        view = await work_queue.claim(_db(request), case_id, username, at=_now(request))
    log.info("case_claimed", case_id=case_id, username=username, next=False)
    return _case_response(request, view, holds=True)


@require_role(Role.AGENT)
async def release_case(request: web.Request) -> web.StreamResponse:
    """Give this draft back to the queue."""
    case_id, username = _case_id(request), logged_in(request).user.username
    with _http_errors():
        view = await work_queue.release(_db(request), case_id, username, at=_now(request))
    log.info("case_released", case_id=case_id, username=username)
    return _case_response(request, view, holds=False)


def item_json(item: QueueItem, *, visible: bool) -> dict[str, object]:
    """A queue item as JSON, a whistleblower's identity masked unless `visible`."""
    fields: dict[str, object] = {
        "id": item.id,
        "created_at": item.created_at.isoformat(),
        "channel": item.channel.value,
        "caller_number": item.caller_number,
        "category": item.category,
        "priority": item.priority.value,
        "summary": item.summary,
        "abandoned": item.abandoned,
        "needs_callback": item.needs_callback,
        "whistleblower": item.whistleblower,
        "excerpt": item.excerpt,
    }
    return masked(fields, whistleblower=item.whistleblower, visible=visible)


def _case_response(request: web.Request, view: CaseView, *, holds: bool) -> web.Response:
    role = logged_in(request).user.role
    visible = may_see_identity(role, holds_case=holds, status=view.status)
    body = item_json(work_queue.item_of(view), visible=visible)
    body.update(status=view.status.value, version=view.version)
    return web.json_response(body)


def _case_id(request: web.Request) -> int:
    case_id = int(request.match_info["case_id"])  # the route admits 1 to 10 ASCII digits
    if case_id > MAX_CASE_ID:
        raise web.HTTPNotFound(text=f"no case {case_id}")
    return case_id


def _db(request: web.Request) -> Sessions:
    return request.config_dict[db_key]


def _now(request: web.Request) -> datetime:
    return request.config_dict[clock_key]()


@contextlib.contextmanager
def _http_errors() -> Iterator[None]:
    try:
        yield
    except RecordNotFound as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    except (ClaimConflict, ValidationError) as exc:
        raise web.HTTPConflict(text=str(exc)) from exc
