"""The workflow's pages: a department's desk, a case's page, the office's dispatch page.

GET /workflow/cases        a department's own cases, with deadlines and overdue marks
GET /workflow/cases/{id}   a case's file with the forms of the moves the viewer may make
GET /workflow/dispatch     the office's 交办台: lists to work through and the catalogue

A department sees only cases it has a part in (404 for any other, as for one that does
not exist) and never a whistleblower's identity: pages are rendered from the API's JSON.
A case's page shows its merges (并单); the office's also the cases it may duplicate.
The forms work through /api/workflow/... (workflow.js, with the CSRF header).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from ivr.cases.taxonomy import load_taxonomy
from ivr.db import workflow_catalogue as catalogue
from ivr.db import workflow_views
from ivr.db.models import CaseStatus, Role
from ivr.web.cases_api import path_id
from ivr.web.guard import logged_in, require_role
from ivr.web.html import page
from ivr.web.merge_api import duplicates_json
from ivr.web.merge_render import duplicates_section, merged_cases, merged_into_notice
from ivr.web.pages import user_bar
from ivr.web.state import clock_key, db_key
from ivr.web.workflow_api import current_file, rules_of
from ivr.web.workflow_board import board_sections, catalogue_section
from ivr.web.workflow_forms import move_forms
from ivr.web.workflow_json import board_json, desk_json
from ivr.web.workflow_render import (
    DESK_HEADERS,
    assignments,
    desk_row,
    facts,
    records,
    section,
    table,
    timeline,
)

DONE = frozenset({CaseStatus.DRAFT.value, CaseStatus.ARCHIVED.value, CaseStatus.MERGED.value})
SCRIPTS = ("workflow.js",)
STYLES = ("workflow.css",)
STATUS_LINES = (
    '<p id="wf-error" class="error" role="alert" hidden></p>'
    '<p id="wf-status" class="notice" role="status" hidden></p>'
)


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the workflow's pages."""
    router.add_get("/workflow/cases", desk_page)
    router.add_get("/workflow/cases/{case_id}", case_page)
    router.add_get("/workflow/dispatch", dispatch_page)


@require_role(Role.DEPARTMENT)
async def desk_page(request: web.Request) -> web.StreamResponse:
    """The department's cases, open ones by deadline first."""
    app, user = request.config_dict, logged_in(request).user
    now, zone = app[clock_key](), rules_of(request).zone
    desk = await workflow_views.department_desk(app[db_key], user.department or "")
    categories = await category_names()
    rows = (desk_row(desk_json(item, user, now), zone, categories) for item in desk)
    body = _nav(Role.DEPARTMENT) + STATUS_LINES
    body += section("desk", "本单位工单", table("desk-list", DESK_HEADERS, rows, "本单位暂无工单"))
    return _page(request, f"{user.department} 工单", body)


@require_role(Role.DEPARTMENT, Role.OFFICE)
async def case_page(request: web.Request) -> web.StreamResponse:
    """A case's file and the viewer's moves."""
    app, user = request.config_dict, logged_in(request).user
    rules, case_id = rules_of(request), path_id(request, "case_id")
    found = await current_file(request, case_id)
    zone, categories = rules.zone, await category_names()
    departments: list[str] = []
    suggested: tuple[str | None, tuple[str, ...]] = (None, ())
    if user.role is Role.OFFICE:
        departments = [
            d.name for d in await catalogue.list_departments(app[db_key], active_only=True)
        ]
        suggested = await _suggestion(request, found["case"], departments)
    forms = move_forms(
        case_id,
        found["allowed"],
        departments=departments,
        suggested=suggested,
        today=app[clock_key]().astimezone(zone).date(),
        max_days=rules.policy.max_extension_working_days,
    )
    office = user.role is Role.OFFICE
    body = "\n".join(
        [
            _nav(user.role) + STATUS_LINES,
            merged_into_notice(found),
            facts(found, zone, categories),
            await _duplicates(request, found) if office else "",
            merged_cases(found, zone, links=office),
            section("handling", "办理", forms),
            section("parts", "交办情况", assignments(found, zone)),
            records(found, zone),
            timeline(found, zone),
        ]
    )
    number = found["case"].get("number") or f"#{case_id}"
    return _page(request, f"工单 {number}", body)


@require_role(Role.OFFICE)
async def dispatch_page(request: web.Request) -> web.StreamResponse:
    """The office's 交办台."""
    app, user = request.config_dict, logged_in(request).user
    now, zone, db = app[clock_key](), rules_of(request).zone, app[db_key]
    board = await workflow_views.office_board(db)
    listed = await catalogue.list_departments(db)
    active = [d.name for d in listed if d.active]
    entries = await catalogue.catalogue(db)
    by_code = {entry.category: entry for entry in entries}
    suggestions = {
        item.case.id: catalogue.suggestion(
            item.case.department, by_code.get(item.case.category), set(active)
        )[0]
        for item in board.to_dispatch
    }
    lists = board_json(board, user, now)
    categories = await category_names()
    parts = [_nav(Role.OFFICE), STATUS_LINES]
    parts += board_sections(lists, zone, categories, suggestions, active)
    parts.append(catalogue_section(entries, listed, categories))
    return _page(request, "交办台", "\n".join(parts))


async def category_names() -> dict[str, str]:
    """Category codes and their names, from the office's taxonomy."""
    taxonomy = await asyncio.to_thread(load_taxonomy)  # the first load builds a tokenizer
    return {category.code: category.name for category in taxonomy.categories}


async def _suggestion(
    request: web.Request, case: Mapping[str, object], active: list[str]
) -> tuple[str | None, tuple[str, ...]]:
    entries = await catalogue.catalogue(request.config_dict[db_key])
    entry = next((e for e in entries if e.category == case["category"]), None)
    return catalogue.suggestion(str(case["department"]), entry, set(active))


async def _duplicates(request: web.Request, found: Mapping[str, Any]) -> str:
    # Only a case that may still be merged, or be merged into, has duplicates to offer.
    case = found["case"]
    if case["status"] in DONE or found.get("merged_into"):
        return ""
    suggestions = await duplicates_json(request, int(case["id"]))
    return duplicates_section(case, suggestions, rules_of(request).zone)


def _nav(role: Role) -> str:
    if role is Role.OFFICE:
        return (
            '<nav class="wf-nav"><a href="/workflow/dispatch">交办台</a>'
            ' · <a href="/office">管理台</a></nav>'
        )
    return '<nav class="wf-nav"><a href="/workflow/cases">本单位工单</a></nav>'


def _page(request: web.Request, title: str, body: str) -> web.Response:
    session = logged_in(request)
    return page(
        title,
        body,
        header=user_bar(session),
        csrf_token=session.csrf_token,
        scripts=SCRIPTS,
        styles=STYLES,
        wide=True,
    )
