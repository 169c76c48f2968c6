"""回访 from the office's console: call a citizen back now, and the cases waiting for it.

POST /api/workflow/cases/{id}/follow-up-call   ring the citizen (the survey runs on the call)
GET  /api/followups                           replied cases, with attempts so far; those with
                                              `followup_max_attempts` unanswered calls are
                                              marked for an agent's manual follow-up

Errors: 400 not a replied case or no number to call, 404 unknown case, 503 no telephony.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import func, select

from ivr.cases.masking import masked
from ivr.db.calls import Sessions
from ivr.db.models import Case, CaseEvent, CaseEventKind, CaseStatus, Role
from ivr.errors import RecordNotFound, ValidationError
from ivr.followup.dialer import call_citizen
from ivr.web.cases_api import path_id
from ivr.web.guard import require_role
from ivr.web.presence import UNAVAILABLE, telephony_key
from ivr.web.state import clock_key, db_key, settings_key


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the follow-up call API."""
    router.add_post("/api/workflow/cases/{case_id}/follow-up-call", follow_up_call)
    router.add_get("/api/followups", waiting_followups)


@require_role(Role.OFFICE)
async def follow_up_call(request: web.Request) -> web.StreamResponse:
    """Ring the citizen of a replied case now."""
    telephony = request.config_dict.get(telephony_key)
    if telephony is None or not telephony.ami.logged_in.is_set():
        raise web.HTTPServiceUnavailable(text=UNAVAILABLE)
    case_id = path_id(request, "case_id")
    app = request.config_dict
    try:
        attempt = await call_citizen(
            telephony.ami, app[settings_key], app[db_key], case_id, at=app[clock_key]()
        )
    except RecordNotFound as exc:
        raise web.HTTPNotFound(text=str(exc)) from exc
    except ValidationError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from exc
    return web.json_response({"answered": attempt.answered, "reason": attempt.reason})


@require_role(Role.OFFICE)
async def waiting_followups(request: web.Request) -> web.StreamResponse:
    """The replied cases, oldest first, with their unanswered attempts."""
    limit = request.config_dict[settings_key].followup_max_attempts
    rows = await _replied(request.config_dict[db_key])
    items = [_item(case, unanswered, limit) for case, unanswered in rows]
    return web.json_response({"items": items, "max_attempts": limit})


async def _replied(db: Sessions) -> list[tuple[Case, int]]:
    unanswered = (
        select(func.count(CaseEvent.id))
        .where(CaseEvent.case_id == Case.id)
        .where(CaseEvent.kind == CaseEventKind.FOLLOW_UP_UNANSWERED.value)
        .scalar_subquery()
    )
    query = (
        select(Case, unanswered)
        .where(Case.status == CaseStatus.REPLIED.value)
        .order_by(Case.updated_at, Case.id)
        .limit(200)
    )
    async with db() as session:
        return [(case, int(count)) for case, count in (await session.execute(query)).all()]


def _item(case: Case, unanswered: int, limit: int) -> dict[str, Any]:
    fields = {"id": case.id, "number": case.number, "caller_number": case.caller_number}
    fields |= {"summary": case.summary, "unanswered_calls": unanswered}
    fields["manual"] = unanswered >= limit  # for an agent to try by hand
    # the office may see reporters; masked() keeps the rule in one place all the same
    return masked(fields, whistleblower=case.whistleblower, visible=True)
