"""并单 suggestions as JSON: the cases a case may duplicate, for the office.

GET /api/workflow/cases/{id}/duplicates   office   {window_days, suggestions: [...]}

Each suggestion: the case (brief, with its version, for a merge that checks it), the score
(0 to 1) and its parts (wording, place, same category), the words and place both share,
the merged cases that matched when the suggestion is their main case, and which way a merge
may go now (`may_join_it`: this case into it; `may_join_this`: it into this case). The
merge itself is a workflow move (POST .../merge, ivr.web.workflow_api).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ivr.db import cases, merge_views
from ivr.db.cases import CaseView
from ivr.db.merge_views import Duplicate
from ivr.db.models import Role
from ivr.db.users import UserView
from ivr.errors import RecordNotFound
from ivr.web.cases_api import path_id
from ivr.web.guard import logged_in, require_role
from ivr.web.state import db_key, settings_key
from ivr.web.workflow_json import brief_json
from ivr.workflow.transitions import MERGEABLE


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the duplicates API."""
    router.add_get("/api/workflow/cases/{case_id}/duplicates", get_duplicates)


@require_role(Role.OFFICE)
async def get_duplicates(request: web.Request) -> web.StreamResponse:
    """The cases this one may duplicate, most alike first."""
    case_id = path_id(request, "case_id")
    return web.json_response(await duplicates_json(request, case_id))


async def duplicates_json(request: web.Request, case_id: int) -> dict[str, Any]:
    """The viewer's JSON of the case's suggestions; 404 for no such case."""
    app, viewer = request.config_dict, logged_in(request).user
    days = app[settings_key].merge_window_days
    try:
        case = await cases.get_case(app[db_key], case_id)
        found = await merge_views.duplicates(app[db_key], case_id, window_days=days)
    except RecordNotFound as exc:
        raise web.HTTPNotFound(text=f"no case {case_id}") from exc
    return {
        "case_id": case_id,
        "window_days": days,
        "suggestions": [duplicate_json(item, case, viewer) for item in found],
    }


def duplicate_json(item: Duplicate, case: CaseView, viewer: UserView) -> dict[str, Any]:
    """One suggestion for `case`, as `viewer` may see it."""
    found = item.suggestion
    return {
        "case": brief_json(item.case, viewer) | {"version": item.case.version},
        "score": found.score,
        "wording": found.wording,
        "place": found.place,
        "same_category": found.same_category,
        "shared_words": list(found.shared_words),
        "shared_place": found.shared_place,
        "via": [brief_json(other, viewer) for other in item.via],
        "may_join_it": case.status in MERGEABLE,
        "may_join_this": item.case.status in MERGEABLE,
    }
