"""并单 through the real app factory, on SQLite and PostgreSQL: the office's case page lists
the cases it may duplicate with their score and a merge button that posts with the CSRF
token; the JSON API suggests and merges; only the office may; a department sees a main
case's merged cases briefly, never their callers, and cannot open them.
"""

from __future__ import annotations

import re
from typing import Any
from unittest.mock import MagicMock

from ivr.db.models import CaseEventKind, Role
from ivr.web.app import make_app
from ivr.web.guard import access_of
from ivr.web.state import ConsolePolicy
from ivr.web.workflow_json import INTAKE_LABELS
from tests.test_merge_db import street
from tests.test_web_console import FakeClock
from tests.test_workflow_api import (
    CASES,
    Desk,
    Sessions,
    cheap_hashing,
    clock,
    desk,
    dispatched,
    office_with_departments,
    registered,
    with_workflow,
)
from tests.test_workflow_db import kinds

__all__ = ["cheap_hashing", "clock", "desk"]  # fixtures shared with test_workflow_api

pytest_plugins = ["tests.db_fixtures"]


async def streetlights(sm: Sessions, clock: FakeClock, road: str) -> dict[str, int]:
    """Three callers about one streetlight, and cases that only look alike; their ids."""
    made: dict[str, dict[str, Any]] = {
        "first": {"summary": f"{road}12号路灯坏了", "transcript": "门口的路灯坏了，晚上很黑"},
        "second": {
            "summary": "路灯不亮",
            "transcript": f"{road}十二号那边的路灯好几天不亮了",
            "address": f"{road}十二号",
            "caller_name": "王先生",
            "contact_phone": "13811112222",
        },
        "third": {"summary": f"{road}上路灯晚上一直不亮", "address": None},
        "smoke": {"summary": "饭店油烟扰民，晚上噪音大"},
        "elsewhere": {"summary": "路灯坏了不亮", "address": f"{street()}12号"},
        "reporter": {"summary": "路灯坏了不亮", "whistleblower": True, "caller_name": "赵举报"},
    }
    found = {}
    for name, fields in made.items():
        fields.setdefault("address", f"{road}12号")
        found[name] = await registered(sm, clock, **fields)
    return found


def rows_of(page: str, table: str) -> set[int]:
    """The case ids of a table's rows on a page."""
    start = page.index(f'id="{table}"')
    body = page[start : page.index("</table>", start)]
    return {int(found) for found in re.findall(r'<tr[^>]*data-case="(\d+)"', body)}


async def test_the_office_merges_a_suggested_duplicate_from_the_case_page(desk: Desk) -> None:
    office = await office_with_departments(desk)
    ids = await streetlights(desk.sm, desk.clock, street())
    second = ids["second"]
    page = await (await office.client.get(f"/workflow/cases/{second}")).text()
    assert 'id="duplicates"' in page and "可能重复的工单" in page
    assert rows_of(page, "duplicate-list") == {ids["first"], ids["third"]}
    form = re.search(
        rf'<form class="wf-move wf-inline wf-merge" data-url="/api/workflow/cases/{second}/merge"'
        rf'[^>]*><input type="hidden" name="into" value="{ids["first"]}" data-type="int">',
        page,
    )
    assert form is not None, "a 并单 button for this case into the first one"
    assert 'name="csrf-token"' in page and 'src="/static/workflow.js"' in page

    listed = await office.ok("GET", f"{CASES}/{second}/duplicates")
    assert listed["window_days"] == 7
    best = {item["case"]["id"]: item for item in listed["suggestions"]}[ids["first"]]
    assert best["score"] >= 0.45 and "路灯" in best["shared_words"]
    assert best["may_join_it"] and best["may_join_this"]
    mine = (await office.ok("GET", f"{CASES}/{second}"))["case"]
    body = {
        "into": ids["first"],
        "version": mine["version"],
        "into_version": best["case"]["version"],
        "reason": "同一盏路灯",
    }
    merged = await office.ok("POST", f"{CASES}/{second}/merge", json=body)
    assert merged["case"]["status"] == "merged"
    assert merged["merged_into"]["id"] == ids["first"]
    assert merged["allowed"] == ["note", "unmerge"]
    assert [e["label"] for e in merged["timeline"]][-1] == "并入工单"
    main = await office.ok("GET", f"{CASES}/{ids['first']}")
    assert [c["id"] for c in main["merged_cases"]] == [second]
    assert main["timeline"][-1]["label"] == "合并来单"
    main_page = await (await office.client.get(f"/workflow/cases/{ids['first']}")).text()
    assert rows_of(main_page, "merged-list") == {second}
    assert f'href="/workflow/cases/{second}"' in main_page
    child_page = await (await office.client.get(f"/workflow/cases/{second}")).text()
    assert 'id="merged-into"' in child_page and 'id="duplicates"' not in child_page
    assert 'id="move-unmerge"' in child_page


async def test_only_the_office_merges_and_bad_requests_change_nothing(desk: Desk) -> None:
    office = await office_with_departments(desk)
    ours = await desk.login(Role.DEPARTMENT, desk.ours)
    main = await dispatched(desk, office)
    child = await dispatched(desk, office)
    body = {"into": main}
    for who in (ours, await desk.login(Role.AGENT), await desk.login(Role.LEADER)):
        await who.refused("POST", f"{CASES}/{child}/merge", 403, json=body)
        await who.refused("GET", f"{CASES}/{child}/duplicates", 403)
    nobody = await desk.anonymous()
    assert (await nobody.post(f"{CASES}/{child}/merge", json=body)).status == 401
    no_token = await office.client.post(f"{CASES}/{child}/merge", json=body)
    assert no_token.status == 403
    version = (await office.ok("GET", f"{CASES}/{child}"))["case"]["version"]
    for bad, status, says in (
        ({"into": main, "version": version - 1}, 409, "请刷新"),
        ({"into": 2**31 - 1}, 400, "没有工单"),
        ({}, 400, "请填写"),
        ({"into": child}, 409, "它自己"),
        ({"into": main, "version": "new"}, 400, "整数"),
    ):
        assert says in await office.refused("POST", f"{CASES}/{child}/merge", status, json=bad)
    await office.refused("POST", f"{CASES}/{2**31 - 1}/merge", 404, json=body)
    await office.refused("GET", f"{CASES}/{2**31 - 1}/duplicates", 404)
    assert await kinds(desk.sm, child) == ["created", "registered", "dispatched"]
    assert await kinds(desk.sm, main) == ["created", "registered", "dispatched"]
    await office.ok("POST", f"{CASES}/{child}/merge", json=body)
    assert "取消并单理由" in await office.refused("POST", f"{CASES}/{child}/unmerge", 400, json={})
    undone = await office.ok("POST", f"{CASES}/{child}/unmerge", json={"reason": "不是同一处"})
    assert undone["case"]["status"] == "registered" and undone["merged_into"] is None


async def test_a_department_sees_merged_cases_briefly_and_never_their_callers(
    desk: Desk,
) -> None:
    office = await office_with_departments(desk)
    ours = await desk.login(Role.DEPARTMENT, desk.ours)
    main = await dispatched(desk, office)
    child = await registered(desk.sm, desk.clock, caller_name="王先生", contact_phone="13811112222")
    await office.ok("POST", f"{CASES}/{child}/merge", json={"into": main})
    caller = (await office.ok("GET", f"{CASES}/{child}"))["case"]["caller_number"]
    seen = await ours.ok("GET", f"{CASES}/{main}")
    assert [c["id"] for c in seen["merged_cases"]] == [child]
    shown = str(seen["merged_cases"])
    for secret in (caller, "王先生", "13811112222"):
        assert secret not in shown
    page = await (await ours.client.get(f"/workflow/cases/{main}")).text()
    assert rows_of(page, "merged-list") == {child}
    for secret in (caller, "王先生", "13811112222"):
        assert secret not in page
    assert f'href="/workflow/cases/{child}"' not in page  # not theirs to open
    assert 'id="duplicates"' not in page
    await ours.refused("GET", f"{CASES}/{child}", 404)
    assert (await ours.client.get(f"/workflow/cases/{child}")).status == 404


async def test_the_merge_routes_are_the_offices_and_labelled() -> None:
    app = with_workflow(make_app(lambda: {}, db=MagicMock(), policy=ConsolePolicy()))
    access = {
        (route.method, route.resource.canonical): access_of(route.handler)
        for route in app.router.routes()
        if route.resource is not None
    }
    office = frozenset({Role.OFFICE})
    for method, path in (("POST", "merge"), ("POST", "unmerge"), ("GET", "duplicates")):
        assert access[method, f"{CASES}/{{case_id}}/{path}"] == office
    merges = {CaseEventKind.MERGED, CaseEventKind.MERGE_RECEIVED}
    assert merges <= set(INTAKE_LABELS)  # the office's: a department's trail leaves them out
