"""The whole case loop with the follow-up calls placed by the automatic scheduler through the
real Asterisk 22, on the runtime's clock moved day by day (`time_travel`):

registered → dispatched → returned → re-dispatched → extension asked and approved →
replied → (the morning after) follow-up call answered on the keypad: not solved,
unsatisfied → reopened to the same department → replied → (the morning after) follow-up
call: solved, satisfied → archived, read-only; every step in the audit trail.

The simulated citizen 13600002311 answers 2, 3 on the first call and 1, 1 on the next
(extensions_sim.conf, [citizen-sim]).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.app import IvrRuntime
from ivr.cases.taxonomy import load_taxonomy
from ivr.db import cases, followups, registration, workflow, workflow_catalogue
from ivr.db import workflow_close as closing
from ivr.db import workflow_handling as handling
from ivr.db.calls import Sessions
from ivr.db.workflow_models import CaseSurvey
from ivr.db.workflow_state import Actor
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import ActionRefused, Party
from tests.stack import Citizens, StackClock, eventually
from tests.test_workflow_calendar import bj
from tests.test_workflow_db import kinds

pytestmark = pytest.mark.asterisk

CITIZEN = "13600002311"
OURS, THEIRS = "市城管执法局", "市水务局"
OFFICE = Actor("office-wang", Party.OFFICE)
RIGHT = Actor("dept-li", Party.DEPARTMENT, OURS)
WRONG = Actor("dept-zhao", Party.DEPARTMENT, THEIRS)


async def test_the_loop_with_follow_up_calls_through_asterisk(
    runtime: IvrRuntime, citizens: Citizens, time_travel: StackClock
) -> None:
    assert runtime.services is not None and runtime.followups is not None
    db, clock = runtime.services.db, time_travel
    rules = WorkflowRules.from_settings(runtime.settings)

    time_travel.travel_to(bj("2031-03-03", 10))  # a Monday
    await workflow_catalogue.seed_from_taxonomy(db, load_taxonomy(), actor="test", at=clock())
    case_id = await _registered(db, clock)
    await workflow.dispatch(db, case_id, actor=OFFICE, at=clock(), rules=rules, department=THEIRS)
    time_travel.travel_to(bj("2031-03-04", 9, 30))
    await workflow.return_case(
        db, case_id, actor=WRONG, at=clock(), rules=rules, reason="路灯由城管执法局负责"
    )
    time_travel.travel_to(bj("2031-03-04", 10))
    await workflow.redispatch(db, case_id, actor=OFFICE, at=clock(), rules=rules, department=OURS)
    await workflow.accept(db, case_id, actor=RIGHT, at=clock(), rules=rules)
    await handling.request_extension(
        db, case_id, actor=RIGHT, at=clock(), rules=rules, days=3, reason="需供电部门配合"
    )
    await handling.approve_extension(db, case_id, actor=OFFICE, at=clock(), rules=rules)
    time_travel.travel_to(bj("2031-03-12", 15))
    await _reply(db, clock, rules, case_id, "已更换电缆，路灯恢复")

    # nobody is called on the day of the reply; the morning after, the citizen is
    time_travel.travel_to(bj("2031-03-12", 18))
    await runtime.followups.run_once(clock())
    assert await followups.round_attempts(db, case_id) == 0
    time_travel.travel_to(bj("2031-03-13", 9, 5))
    await _called_and_surveyed(runtime, case_id)
    reopened = await cases.get_case(db, case_id)
    assert (reopened.status, reopened.department) == ("dispatched", OURS), "rework, same desk"

    await workflow.accept(db, case_id, actor=RIGHT, at=clock(), rules=rules)
    time_travel.travel_to(bj("2031-03-14", 16))
    await _reply(db, clock, rules, case_id, "更换灯具并检修线路")
    time_travel.travel_to(bj("2031-03-15", 9, 5))
    await _called_and_surveyed(runtime, case_id)
    assert (await cases.get_case(db, case_id)).status == "followed_up"

    await closing.archive(db, case_id, actor=OFFICE, at=clock(), rules=rules)
    with pytest.raises(ActionRefused, match="归档后只读"):
        await handling.add_note(db, case_id, actor=RIGHT, at=clock(), rules=rules, text="补充")

    surveys = await _surveys(db, case_id)
    assert surveys == [(False, "unsatisfied", True), (True, "satisfied", False)]
    trail = await kinds(db, case_id)
    assert trail == [
        "created",
        "registered",
        "dispatched",
        "returned",
        "redispatched",
        "accepted",
        "extension_requested",
        "extension_approved",
        "replied",
        "follow_up_called",
        "followed_up",
        "reopened",
        "accepted",
        "replied",
        "follow_up_called",
        "followed_up",
        "archived",
    ]


async def _registered(db: Sessions, clock: StackClock) -> int:
    edits = {"summary": "人民路12号路灯坏了", "category": "urban", "department": OURS}
    case = await registration.open_manual_case(
        db, actor="agent-li", channel="walk_in", caller_number=CITIZEN, edits=edits, at=clock()
    )
    return case.id


async def _reply(
    db: Sessions, clock: StackClock, rules: WorkflowRules, case_id: int, result: str
) -> None:
    today = clock().astimezone(rules.zone).date().isoformat()
    await handling.reply(
        db,
        case_id,
        actor=RIGHT,
        at=clock(),
        rules=rules,
        result=result,
        handler="李工",
        handled_on=today,
    )


async def _called_and_surveyed(runtime: IvrRuntime, case_id: int) -> None:
    """Scheduler runs until this case's citizen was rung, then until they answered."""
    assert runtime.services is not None and runtime.followups is not None
    db, job = runtime.services.db, runtime.followups
    before = await followups.round_attempts(db, case_id)
    # other tests' replied cases may be due on this day too and take a line first
    for _ in range(6):
        await job.run_once(runtime.services.clock())
        await job.idle()
        if await followups.round_attempts(db, case_id) > before:
            break
    else:
        raise AssertionError("the scheduler never called the citizen")

    async def surveyed() -> bool:
        return (await cases.get_case(db, case_id)).status != "replied"

    await eventually(surveyed, 60, "the citizen's keypad answers recorded")


async def _surveys(db: Sessions, case_id: int) -> list[tuple[bool, str, bool]]:
    async with db() as session:
        query = select(CaseSurvey).where(CaseSurvey.case_id == case_id).order_by(CaseSurvey.id)
        found = (await session.scalars(query)).all()
    return [(s.resolved, s.satisfaction, s.reopened) for s in found]
