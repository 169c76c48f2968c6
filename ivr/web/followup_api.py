"""回访 from the office's console: call a citizen back now, and the cases waiting for it.

POST /api/workflow/cases/{id}/follow-up-call   ring the citizen (the survey runs on the call)
GET  /api/followups                           replied cases, with this round's calls, when the
                                              next automatic one is due, and `manual` for those
                                              the scheduler has given up on (tried
                                              `followup_max_attempts` times, or no number)

Errors: 400 not a replied case or no number to call, 404 unknown case, 409 a call to the
citizen is going on, 503 no telephony.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.cases.masking import masked
from ivr.db import followups
from ivr.db.models import Case, Role
from ivr.errors import ClaimConflict, RecordNotFound, ValidationError
from ivr.followup.dialer import call_citizen
from ivr.followup.schedule import CallingPolicy, PendingFollowUp, next_call_at
from ivr.web.cases_api import path_id
from ivr.web.guard import require_role
from ivr.web.presence import UNAVAILABLE, telephony_key
from ivr.web.state import clock_key, db_key, settings_key

LISTED = 200


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
    except ClaimConflict as exc:
        raise web.HTTPConflict(text="正在回访该市民，请稍后再试") from exc
    return web.json_response({"answered": attempt.answered, "reason": attempt.reason})


@require_role(Role.OFFICE)
async def waiting_followups(request: web.Request) -> web.StreamResponse:
    """The replied cases, longest waiting first, with this round's calls and what is next."""
    app = request.config_dict
    policy = CallingPolicy.from_settings(app[settings_key])
    rows = await followups.pending(app[db_key])
    items = [_item(case, item, policy) for case, item in rows[:LISTED]]
    return web.json_response({"items": items, "max_attempts": policy.max_attempts})


def _item(case: Case, item: PendingFollowUp, policy: CallingPolicy) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": case.id, "number": case.number}
    fields |= {"caller_number": case.caller_number, "summary": case.summary}
    fields |= {"calls": item.attempts, "unanswered_calls": item.unanswered}
    due = next_call_at(item, policy)
    fields["next_call_at"] = due.isoformat() if due else None
    fields["manual"] = due is None  # tried enough, or no number: an agent calls by hand
    # the office may see reporters; masked() keeps the rule in one place all the same
    return masked(fields, whistleblower=case.whistleblower, visible=True)
