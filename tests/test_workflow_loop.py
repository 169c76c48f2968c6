"""The whole loop through the API with a fake clock, on SQLite and PostgreSQL:
registered → dispatched → returned → re-dispatched → extension asked and approved →
replied → followed up unsatisfied → reopened for rework → replied → followed up → archived,
every step in the audit trail, and the archived case read-only for everyone.

The follow-up here is recorded by the office through the API; the follow-up call will
record it as the system through `ivr.db.workflow_close.record_follow_up` (see
test_the_follow_up_call_reopens_and_closes_as_the_system).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ivr.db import workflow_close
from ivr.db.models import Role
from ivr.db.workflow_state import Actor
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import ActionRefused
from tests.test_duty_api import Console
from tests.test_workflow_api import (
    CASES,
    Desk,
    cheap_hashing,
    clock,
    desk,
    office_with_departments,
    registered,
)
from tests.test_workflow_calendar import bj
from tests.test_workflow_db import kinds

__all__ = ["cheap_hashing", "clock", "desk"]  # fixtures shared with test_workflow_api

pytest_plugins = ["tests.db_fixtures"]


async def move(who: Console, case_id: int, path: str, **body: Any) -> dict[str, Any]:
    """A move that must succeed; the case's file after it."""
    found: dict[str, Any] = await who.ok("POST", f"{CASES}/{case_id}/{path}", json=body)
    return found


def due(part: dict[str, Any]) -> datetime:
    """An assignment's reply deadline (the API writes UTC)."""
    return datetime.fromisoformat(part["reply_due"])


def lead_of(found: dict[str, Any]) -> dict[str, Any]:
    """The current lead assignment in a file."""
    return next(a for a in found["assignments"] if a["current"] and a["role"] == "lead")


async def test_the_whole_loop_with_a_fake_clock(desk: Desk) -> None:
    office = await office_with_departments(desk)
    wrong = await desk.login(Role.DEPARTMENT, desk.theirs)
    right = await desk.login(Role.DEPARTMENT, desk.ours)
    case_id = await registered(desk.sm, desk.clock)

    # 交办 to the wrong department, which sends it back the next morning
    found = await move(office, case_id, "dispatch", department=desk.theirs, instructions="请核查")
    assert found["case"]["status"] == "dispatched"
    assert due(lead_of(found)) == bj("2031-03-10", 10)
    desk.clock.now = bj("2031-03-04", 9, 30)
    found = await move(wrong, case_id, "return", reason="路灯由城管执法局负责")
    assert found["case"]["status"] == "returned"

    # the office agrees and re-dispatches; the wrong department no longer sees the case
    desk.clock.now = bj("2031-03-04", 10)
    found = await move(office, case_id, "redispatch", department=desk.ours)
    assert lead_of(found)["department"] == desk.ours
    assert due(lead_of(found)) == bj("2031-03-11", 10)
    await wrong.refused("GET", f"{CASES}/{case_id}", 404)

    # accepted, an extension of 3 working days asked and approved, a note, then the reply
    found = await move(right, case_id, "accept")
    assert found["case"]["status"] == "handling"
    assert found["allowed"] == ["return", "request_extension", "note", "reply"]
    await move(right, case_id, "extension", days=3, reason="需更换电缆，等待供电部门配合")
    found = await move(office, case_id, "extension/approve", note="同意")
    assert due(lead_of(found)) == bj("2031-03-14", 10)
    desk.clock.now = bj("2031-03-12", 15)
    await move(right, case_id, "notes", text="已联系供电部门，周四施工")
    reply = {"result": "已更换电缆，路灯恢复", "handler": "李工", "handled_on": "2031-03-12"}
    found = await move(right, case_id, "reply", **reply)
    assert found["case"]["status"] == "replied"
    assert found["replies"][0]["handler"] == "李工"

    # the citizen is not satisfied: back to the same department with their words
    desk.clock.now = bj("2031-03-13", 10)
    words = "灯亮了两天又不亮了"
    found = await move(
        office,
        case_id,
        "follow-up",
        resolved=False,
        satisfaction="unsatisfied",
        citizen_words=words,
    )
    assert found["reopened"] is True
    assert found["case"]["status"] == "dispatched"
    rework = lead_of(found)
    assert (rework["department"], rework["kind"], rework["round"]) == (desk.ours, "rework", 3)
    assert rework["instructions"] == words
    assert due(rework) == bj("2031-03-20", 10)

    # reworked and replied again; now the citizen is content and the office archives
    await move(right, case_id, "accept")
    again = {"result": "更换灯具并检修线路", "handler": "李工", "handled_on": "2031-03-14"}
    desk.clock.now = bj("2031-03-14", 16)
    await move(right, case_id, "reply", **again)
    found = await move(
        office, case_id, "follow-up", resolved=True, satisfaction="satisfied", citizen_words=""
    )
    assert (found["case"]["status"], found["reopened"]) == ("followed_up", False)
    found = await move(office, case_id, "archive")
    assert found["case"]["status"] == "archived"
    assert found["allowed"] == []

    # read-only for everyone from now on
    for who, path, body in (
        (right, "notes", {"text": "补充说明"}),
        (office, "reopen", {"citizen_words": "又坏了"}),
        (office, "archive", {}),
    ):
        assert "归档后只读" in await who.refused(
            "POST", f"{CASES}/{case_id}/{path}", 409, json=body
        )

    assert await kinds(desk.sm, case_id) == [
        "created",
        "registered",
        "dispatched",
        "returned",
        "redispatched",
        "accepted",
        "extension_requested",
        "extension_approved",
        "note_added",
        "replied",
        "followed_up",
        "reopened",
        "accepted",
        "replied",
        "followed_up",
        "archived",
    ]
    trail = (await right.ok("GET", f"{CASES}/{case_id}"))["timeline"]
    assert [e["label"] for e in trail][:3] == ["受理", "交办", "退单"]
    assert all("before" not in entry for entry in trail)  # only the office sees values


async def test_the_follow_up_call_reopens_and_closes_as_the_system(desk: Desk) -> None:
    office = await office_with_departments(desk)
    right = await desk.login(Role.DEPARTMENT, desk.ours)
    case_id = await registered(desk.sm, desk.clock)
    await move(office, case_id, "dispatch", department=desk.ours)
    await move(right, case_id, "accept")
    reply = {"result": "已修复", "handler": "李工", "handled_on": "2031-03-03"}
    await move(right, case_id, "reply", **reply)
    system, rules, at = Actor.system("followup-call"), WorkflowRules(), bj("2031-03-04", 10)

    # the system may not close an unhappy citizen's case with an override
    try:
        await workflow_close.record_follow_up(
            desk.sm,
            case_id,
            actor=system,
            at=at,
            rules=rules,
            resolved=False,
            satisfaction="unsatisfied",
            citizen_words="没修好",
            override_reason="不必重办",
        )
    except ActionRefused as refused:
        assert "只有热线办" in str(refused)
    else:
        raise AssertionError("the system closed a case over the citizen's answer")

    outcome = await workflow_close.record_follow_up(
        desk.sm,
        case_id,
        actor=system,
        at=at,
        rules=rules,
        resolved=False,
        satisfaction="basically_satisfied",
        citizen_words="灯还是时亮时不亮",
    )
    assert outcome.reopened and outcome.case.department == desk.ours
    desk.clock.now = at
    await move(right, case_id, "accept")
    await move(right, case_id, "reply", **reply | {"handled_on": "2031-03-04"})

    # still unhappy, but the office judges the demand met: closed with its reason
    found = await move(
        office,
        case_id,
        "follow-up",
        resolved=False,
        satisfaction="unsatisfied",
        citizen_words="希望换成新款路灯",
        override_reason="路灯已正常工作，换新款不属于维修范围",
    )
    assert (found["case"]["status"], found["reopened"]) == ("followed_up", False)
    assert found["surveys"][-1]["override_reason"].startswith("路灯已正常工作")

    # the system reopens to the same department only, never to another one
    try:
        await workflow_close.reopen(
            desk.sm,
            case_id,
            actor=system,
            at=at,
            rules=rules,
            citizen_words="又不亮了",
            department=desk.theirs,
            reason="试试别的单位",
        )
    except ActionRefused as refused:
        assert "只有热线办" in str(refused)
    else:
        raise AssertionError("the system sent a rework to another department")
    again = await workflow_close.reopen(
        desk.sm, case_id, actor=system, at=at, rules=rules, citizen_words="又不亮了"
    )
    assert (again.status, again.department) == ("dispatched", desk.ours)
    assert await kinds(desk.sm, case_id) == [
        "created",
        "registered",
        "dispatched",
        "accepted",
        "replied",
        "followed_up",  # the system: not resolved
        "reopened",
        "accepted",
        "replied",
        "followed_up",  # the office: closed over the citizen's wish, with its reason
        "reopened",  # the system again
    ]
