"""并单 in the database (SQLite and PostgreSQL): the merge and its audit entries on both cases,
refusals that leave nothing behind (checked row by row), two offices merging at once, the
main case's reply reaching every merged caller, a merged caller's follow-up reworking the
main case, archiving and un-merging, and the suggestions read from the database.

The PostgreSQL database is shared by the session: every test names its own departments
and its own street (a made-up name), so no other test's cases can look like duplicates.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from ivr.db import cases, followups, merge_views, merging, workflow
from ivr.db import workflow_close as closing
from ivr.db import workflow_handling as handling
from ivr.db.cases import CaseView
from ivr.db.models import Case, CaseEvent, CaseStatus
from ivr.db.workflow_models import CaseAssignment, CaseSurvey, ExtensionRequest, ProgressNote
from ivr.db.workflow_state import Actor
from ivr.db.workflow_views import case_file, department_desk
from ivr.errors import RecordNotFound, StaleEdit, ValidationError
from ivr.workflow.transitions import Party, RefusalKind
from tests.test_workflow_db import (
    MONDAY,
    OFFICE,
    RULES,
    Sessions,
    _two_at_once,
    count,
    desk_of,
    fresh,
    kinds,
    listed,
    refused,
    registered,
)

pytest_plugins = ["tests.db_fixtures"]

S = CaseStatus
SYSTEM = Actor.system("followup")
WINDOW = 7
_NAME_CHARS = "春夏秋冬梅兰竹菊松柏桃杏柳槐枫桂荷莲芙蓉金银铜锦绣云霞虹霓星辰晨曦"


def street() -> str:
    """A street name no other test uses (their cases never look like this one's)."""
    return "".join(random.sample(_NAME_CHARS, 4)) + "路"


@dataclasses.dataclass
class Family:
    """A test's departments and street, and how to make cases on them."""

    sm: Sessions
    url: str  # for a second engine, as a second ivr process would have
    lead: str
    other: str
    road: str

    async def case(self, summary: str = "路灯坏了", **fields: Any) -> int:
        """A registered case at this test's street (12号 unless the address says otherwise)."""
        fields.setdefault("address", f"{self.road}12号")
        return await registered(self.sm, summary=summary, **fields)

    async def working(self, department: str | None = None, **fields: Any) -> int:
        """A case dispatched to `department` (default: the lead) and accepted there."""
        name = department or self.lead
        case_id = await self.case(**fields)
        await workflow.dispatch(
            self.sm, case_id, actor=OFFICE, at=MONDAY, rules=RULES, department=name
        )
        await workflow.accept(self.sm, case_id, actor=desk_of(name), at=MONDAY, rules=RULES)
        return case_id

    async def merge(self, child: int, main: int, **more: Any) -> CaseView:
        """The office merges `child` into `main`."""
        return await merging.merge(
            self.sm, child, actor=OFFICE, at=MONDAY, rules=RULES, into=main, **more
        )

    async def reply(self, case_id: int, at: datetime = MONDAY) -> CaseView:
        """The lead department replies."""
        return await handling.reply(
            self.sm,
            case_id,
            actor=desk_of(self.lead),
            at=at,
            rules=RULES,
            result="已更换灯泡，路灯恢复照明",
            handler="李工",
            handled_on=at.astimezone(RULES.zone).date(),
        )

    async def follow_up(self, case_id: int, content: bool, words: str | None = None) -> bool:
        """The follow-up call records the citizen's answers; whether it reopened."""
        outcome = await closing.record_follow_up(
            self.sm,
            case_id,
            actor=SYSTEM,
            at=MONDAY,
            rules=RULES,
            resolved=content,
            satisfaction="satisfied" if content else "unsatisfied",
            citizen_words=words,
        )
        return outcome.reopened


@pytest.fixture
async def family(db_sessionmaker: Sessions, database_url: str) -> Family:
    """Two departments of this test's own and a street nobody else uses."""
    found = Family(db_sessionmaker, database_url, fresh("城管局"), fresh("住建局"), street())
    await listed(db_sessionmaker, found.lead, found.other)
    return found


async def status(sm: Sessions, case_id: int) -> tuple[CaseStatus, int | None]:
    """The case's status and the case it is merged into."""
    async with sm() as session:
        row = await session.get(Case, case_id)
        assert row is not None
        return CaseStatus(row.status), row.merged_into_id


async def events(sm: Sessions, case_id: int) -> list[CaseEvent]:
    """The case's audit trail, oldest first."""
    async with sm() as session:
        query = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        return list(await session.scalars(query))


async def snapshot(sm: Sessions, *ids: int) -> list[object]:
    """Everything a refused merge must leave as it was."""
    found: list[object] = []
    for case_id in ids:
        found.append(await cases.get_case(sm, case_id))
        found.append(await status(sm, case_id))
        found.append(await count(sm, CaseAssignment, case_id))
        async with sm() as session:
            query = select(CaseAssignment.withdrawn_at).where(CaseAssignment.case_id == case_id)
            found.append(list(await session.scalars(query.order_by(CaseAssignment.id))))
    return found


# --- the merge ---------------------------------------------------------------------------


async def test_a_merge_ends_the_duplicates_work_and_audits_both_cases(family: Family) -> None:
    sm = family.sm
    main = await family.working(summary="人民路路灯坏了")
    child = await family.working(family.other, summary="路灯不亮好几天")
    other_desk = desk_of(family.other)
    await handling.request_extension(
        sm, child, actor=other_desk, at=MONDAY, rules=RULES, days=3, reason="等配件"
    )
    seen, main_seen = await cases.get_case(sm, child), await cases.get_case(sm, main)
    view = await family.merge(
        child, main, version=seen.version, into_version=main_seen.version, reason="同一路灯"
    )
    assert view.status is S.MERGED
    assert await status(sm, child) == (S.MERGED, main)
    # the department working on the duplicate lets it go: the main case's work answers it
    assert [i.case.id for i in await department_desk(sm, family.other)] == []
    with pytest.raises(RecordNotFound):
        await case_file(sm, child, actor=other_desk, at=MONDAY, rules=RULES)
    async with sm() as session:
        request = await session.scalar(
            select(ExtensionRequest).where(ExtensionRequest.case_id == child)
        )
        assert request is not None and request.decision == "void"
    # both sides of the audit trail name the other case
    merged, received = (await events(sm, child))[-1], (await events(sm, main))[-1]
    assert (merged.kind, merged.actor, merged.note) == ("merged", "office-wang", "同一路灯")
    assert merged.after is not None and merged.after["merged_into"] == main_seen.number
    assert merged.after["withdrawn"] == [family.other]
    assert merged.before is not None and merged.before["status"] == "handling"
    assert received.kind == "merge_received" and received.after is not None
    assert received.after["merged_case"] == seen.number
    main_file = await case_file(sm, main, actor=OFFICE, at=MONDAY, rules=RULES)
    assert [c.id for c in main_file.merged] == [child]
    child_file = await case_file(sm, child, actor=OFFICE, at=MONDAY, rules=RULES)
    assert child_file.main is not None and child_file.main.id == main
    assert [a.value for a in child_file.allowed] == ["note", "unmerge"]
    # a case number names the main case as well as its id does
    third = await family.case()
    assert main_seen.number is not None
    await family.merge(third, main_seen.number)
    assert await status(sm, third) == (S.MERGED, main)


async def test_every_department_that_worked_on_it_lets_the_merged_case_go(
    family: Family,
) -> None:
    sm = family.sm
    child = await family.working(family.other, summary="路灯不亮好几天")
    reply = {"result": "已修复", "handler": "张工", "handled_on": "2031-03-03"}
    await handling.reply(sm, child, actor=desk_of(family.other), at=MONDAY, rules=RULES, **reply)
    # the citizen is unhappy and the office sends the rework to another department
    await closing.reopen(
        sm,
        child,
        actor=OFFICE,
        at=MONDAY,
        rules=RULES,
        citizen_words="又坏了",
        department=family.lead,
        reason="线路归城管维护",
    )
    main = await family.case(summary="人民路路灯坏了")
    await family.merge(child, main, reason="同一路灯")
    for department in (family.other, family.lead):  # the first round's and the rework's
        assert child not in [i.case.id for i in await department_desk(sm, department)]
        with pytest.raises(RecordNotFound):
            await case_file(sm, child, actor=desk_of(department), at=MONDAY, rules=RULES)


async def test_refused_merges_leave_nothing_behind(family: Family) -> None:
    sm = family.sm
    main, child = await family.working(), await family.case()
    archived = await family.case()
    await closing.archive(sm, archived, actor=OFFICE, at=MONDAY, rules=RULES, reason="已答复")
    reporter = await family.case(whistleblower=True, caller_name="赵举报")
    draft = await cases.create_blank_draft(sm, call_uniqueid=None, caller_number="13900000001")
    merged_one, its_main = await family.case(), await family.case()
    await family.merge(merged_one, its_main)
    before = await snapshot(sm, main, child, archived, reporter, draft, merged_one, its_main)
    trails = [len(await events(sm, i)) for i in (main, child, archived, reporter, merged_one)]

    attempts: list[tuple[Awaitable[object], RefusalKind, str]] = [
        (family.merge(draft, main), RefusalKind.CONFLICT, "请先受理"),
        (family.merge(child, archived), RefusalKind.CONFLICT, "已归档"),
        (family.merge(archived, main), RefusalKind.CONFLICT, "已归档"),
        (family.merge(child, child), RefusalKind.CONFLICT, "它自己"),
        (family.merge(child, merged_one), RefusalKind.CONFLICT, "已并入其他工单"),
        (family.merge(its_main, merged_one), RefusalKind.CONFLICT, "已并入其他工单"),  # cycle
        (family.merge(merged_one, main), RefusalKind.CONFLICT, "已并单"),
        (family.merge(reporter, main), RefusalKind.CONFLICT, "举报件"),
        (family.merge(child, reporter), RefusalKind.CONFLICT, "举报件"),
        (family.merge(child, draft), RefusalKind.CONFLICT, "尚未受理"),
    ]
    for work, kind, message in attempts:
        await refused(work, kind, message)
    for party in (Party.AGENT, Party.LEADER, Party.SYSTEM):
        who = Actor("someone", party)
        await refused(
            merging.merge(sm, child, actor=who, at=MONDAY, rules=RULES, into=main),
            RefusalKind.FORBIDDEN,
            "不能并单",
        )
    lead_desk = desk_of(family.lead)  # has a part in `main`: forbidden; in `child`: unknown
    await refused(
        merging.merge(sm, main, actor=lead_desk, at=MONDAY, rules=RULES, into=child),
        RefusalKind.FORBIDDEN,
        "不能并单",
    )
    with pytest.raises(RecordNotFound):
        await merging.merge(sm, child, actor=lead_desk, at=MONDAY, rules=RULES, into=main)
    stale = (await cases.get_case(sm, child)).version - 1
    with pytest.raises(StaleEdit, match="请刷新"):
        await family.merge(child, main, version=stale)
    with pytest.raises(StaleEdit, match="请刷新"):
        await family.merge(child, main, into_version=stale + 99)
    for into, says in (
        (None, "请填写"),
        (" ", "请填写"),
        (2**40, "没有工单"),
        ("12345-x", "没有工单"),
    ):
        with pytest.raises(ValidationError, match=says):
            await family.merge(child, into)
    for bad in ("3", True, 1.5):
        with pytest.raises(ValidationError, match="整数"):
            await family.merge(child, main, version=bad)
    assert (
        await snapshot(sm, main, child, archived, reporter, draft, merged_one, its_main) == before
    )
    after = [len(await events(sm, i)) for i in (main, child, archived, reporter, merged_one)]
    assert after == trails


async def test_merging_a_main_case_brings_its_merged_cases_along(family: Family) -> None:
    first, second, third = await family.case(), await family.case(), await family.working()
    await family.merge(second, first)
    await family.merge(first, third)
    assert await status(family.sm, first) == (S.MERGED, third)
    assert await status(family.sm, second) == (S.MERGED, third)  # one level deep, always
    moved = (await events(family.sm, second))[-1]
    assert moved.kind == "merged" and moved.after is not None
    received = (await events(family.sm, third))[-1]
    first_number = (await cases.get_case(family.sm, first)).number
    second_number = (await cases.get_case(family.sm, second)).number
    assert received.after is not None
    assert (received.after["merged_case"], received.after["along"]) == (
        first_number,
        [second_number],
    )


async def _merge_both_ways(family: Family, one: int, two: int) -> list[object]:
    async def work(sm: Sessions, name: str) -> object:
        child, main = (one, two) if name == "office-li" else (two, one)
        office = Actor(name, Party.OFFICE)
        return await merging.merge(sm, child, actor=office, at=MONDAY, rules=RULES, into=main)

    return await _two_at_once(family.url, work)


async def test_two_offices_merging_at_once_make_no_cycle(family: Family) -> None:
    one, two = await family.case(), await family.case()
    results = await _merge_both_ways(family, one, two)
    assert sorted(type(r).__name__ for r in results) == ["ActionRefused", "CaseView"]
    states = {await status(family.sm, one), await status(family.sm, two)}
    assert states in (
        {(S.MERGED, two), (S.REGISTERED, None)},
        {(S.MERGED, one), (S.REGISTERED, None)},
    )
    merges = [k for i in (one, two) for k in await kinds(family.sm, i) if k.startswith("merge")]
    assert sorted(merges) == ["merge_received", "merged"]

    # one duplicate, two offices choosing two different main cases: one merge only
    child, left, right = await family.case(), await family.case(), await family.case()

    async def choose(sm: Sessions, name: str) -> object:
        office, main = Actor(name, Party.OFFICE), left if name == "office-li" else right
        return await merging.merge(sm, child, actor=office, at=MONDAY, rules=RULES, into=main)

    results = await _two_at_once(family.url, choose)
    assert sorted(type(r).__name__ for r in results) == ["ActionRefused", "CaseView"]
    _, into = await status(family.sm, child)
    assert into in (left, right)
    assert (await kinds(family.sm, child)).count("merged") == 1
    received = [(await kinds(family.sm, i)).count("merge_received") for i in (left, right)]
    assert sorted(received) == [0, 1]


# --- the reply, the follow-up, the archive -----------------------------------------------


async def test_the_main_reply_reaches_every_merged_caller(family: Family) -> None:
    sm = family.sm
    main = await family.working()
    first, second = await family.case(), await family.working(family.other)
    for child in (first, second):
        await family.merge(child, main)
    await family.reply(main)
    for child in (first, second):
        assert await status(sm, child) == (S.REPLIED, main)  # the follow-up call rings them
        given = (await events(sm, child))[-1]
        assert given.kind == "replied" and given.after is not None
        assert given.after["result"] == "已更换灯泡，路灯恢复照明"
        assert given.after["main"] == (await cases.get_case(sm, main)).number
        found = await case_file(sm, child, actor=OFFICE, at=MONDAY, rules=RULES)
        assert [(r.case_id, r.handler) for r in found.replies] == [(main, "李工")]
    replied = (await events(sm, main))[-1]
    assert replied.after is not None and len(replied.after["shared_with"]) == 2
    # what the follow-up calls go by: each merged caller is waiting, on their own number
    waiting = {case.id: item for case, item in await followups.pending(sm)}
    assert {first, second, main} <= set(waiting)
    assert all(waiting[c].diallable and waiting[c].attempts == 0 for c in (first, second))
    number = await followups.claim_call(sm, first, at=MONDAY)
    assert number == (await cases.get_case(sm, first)).caller_number


async def test_merging_into_a_replied_case_gives_its_reply_at_once(family: Family) -> None:
    main = await family.working()
    await family.reply(main)
    late = await family.case()
    await family.merge(late, main)
    assert await status(family.sm, late) == (S.REPLIED, main)
    assert await kinds(family.sm, late) == ["created", "registered", "merged", "replied"]


async def test_an_unhappy_merged_caller_reworks_the_main_case(family: Family) -> None:
    sm = family.sm
    main = await family.working()
    unhappy, waiting = await family.case(), await family.case()
    for child in (unhappy, waiting):
        await family.merge(child, main)
    await family.reply(main)
    words = "灯修好第二天又不亮了"
    assert await family.follow_up(unhappy, content=False, words=words) is True
    assert await status(sm, unhappy) == (S.MERGED, main)  # waits for the next reply
    assert await status(sm, waiting) == (S.MERGED, main)  # the reply it had is being redone
    assert await status(sm, main) == (S.DISPATCHED, None)
    found = await case_file(sm, main, actor=OFFICE, at=MONDAY, rules=RULES)
    rework = next(a for a in found.assignments if a.current)
    number = (await cases.get_case(sm, unhappy)).number
    assert (rework.department, rework.kind, rework.round) == (family.lead, "rework", 2)
    assert rework.instructions == f"并单工单 {number} 的市民：{words}"
    assert await count(sm, CaseSurvey, unhappy) == 1
    assert await kinds(sm, unhappy) == [
        "created",
        "registered",
        "merged",
        "replied",
        "followed_up",
        "reopened",
    ]
    assert (await kinds(sm, waiting))[-1] == "reopened"

    # reworked and replied again: both callers are called again; content, they close and
    # go to the archive with the main case
    await workflow.accept(sm, main, actor=desk_of(family.lead), at=MONDAY, rules=RULES)
    await family.reply(main)
    assert {await status(sm, c) for c in (unhappy, waiting)} == {(S.REPLIED, main)}
    for case_id in (unhappy, waiting, main):
        assert await family.follow_up(case_id, content=True) is False
    assert await status(sm, unhappy) == (S.FOLLOWED_UP, main)
    await closing.archive(sm, main, actor=OFFICE, at=MONDAY, rules=RULES)
    for child in (unhappy, waiting):
        assert await status(sm, child) == (S.ARCHIVED, main)
        last = (await events(sm, child))[-1]
        assert last.kind == "archived" and last.note is not None and "随主工单" in last.note
    archived = (await events(sm, main))[-1]
    assert archived.after is not None and len(archived.after["merged_archived"]) == 2


async def test_a_main_case_is_archived_after_its_merged_callers_only(family: Family) -> None:
    sm = family.sm
    main, child = await family.case(), await family.case()
    await family.merge(child, main)
    why = "市民来电表示已解决"
    for stage in ("registered", "replied"):
        if stage == "replied":
            await workflow.dispatch(
                sm, main, actor=OFFICE, at=MONDAY, rules=RULES, department=family.lead
            )
            await workflow.accept(sm, main, actor=desk_of(family.lead), at=MONDAY, rules=RULES)
            await family.reply(main)
        before = await snapshot(sm, main, child)
        trail = len(await events(sm, main))
        work = closing.archive(sm, main, actor=OFFICE, at=MONDAY, rules=RULES, reason=why)
        await refused(work, RefusalKind.CONFLICT, "还在等待回复或回访")
        assert await snapshot(sm, main, child) == before
        assert len(await events(sm, main)) == trail
    # the office may close the merged caller's case on its own, then the main one
    await closing.archive(sm, child, actor=OFFICE, at=MONDAY, rules=RULES, reason=why)
    await closing.archive(sm, main, actor=OFFICE, at=MONDAY, rules=RULES, reason=why)
    assert await status(sm, main) == (S.ARCHIVED, None)
    late = await family.case()
    await refused(family.merge(late, main), RefusalKind.CONFLICT, "已归档")


async def test_an_unhappy_caller_while_the_main_is_reworked_leaves_a_note(
    family: Family,
) -> None:
    sm = family.sm
    main, child = await family.working(), await family.case()
    await family.merge(child, main)
    await family.reply(main)
    assert await family.follow_up(child, content=True) is False
    assert await family.follow_up(main, content=False, words="还是不亮") is True
    assert await status(sm, child) == (S.FOLLOWED_UP, main)  # content: stays closed
    # the office hears later from the merged caller: the main case is already back at work
    await closing.reopen(
        sm, child, actor=OFFICE, at=MONDAY, rules=RULES, citizen_words="灯罩也碎了"
    )
    assert await status(sm, child) == (S.MERGED, main)
    assert await status(sm, main) == (S.DISPATCHED, None)
    async with sm() as session:
        query = select(ProgressNote.text).where(ProgressNote.case_id == main)
        notes = list(await session.scalars(query))
    assert len(notes) == 1 and notes[0].endswith("的市民：灯罩也碎了")
    assert (await kinds(sm, main))[-1] == "note_added"


async def test_the_office_undoes_a_merge_while_the_case_waits(family: Family) -> None:
    sm = family.sm
    main, child = await family.working(), await family.working(family.other)
    await family.merge(child, main)
    undo = merging.unmerge
    with pytest.raises(ValidationError, match="取消并单理由不能为空"):
        await undo(sm, child, actor=OFFICE, at=MONDAY, rules=RULES, reason=" ")
    await refused(
        undo(sm, main, actor=OFFICE, at=MONDAY, rules=RULES, reason="误操作"),
        RefusalKind.CONFLICT,
        "不能取消并单",
    )
    view = await undo(sm, child, actor=OFFICE, at=MONDAY, rules=RULES, reason="不是同一盏灯")
    assert view.status is S.REGISTERED and await status(sm, child) == (S.REGISTERED, None)
    last = (await events(sm, child))[-1]
    assert (last.kind, last.note) == ("unmerged", "取消并单：不是同一盏灯")
    assert (await kinds(sm, main))[-1] == "unmerged"
    found = await case_file(sm, main, actor=OFFICE, at=MONDAY, rules=RULES)
    assert found.merged == ()
    await workflow.dispatch(
        sm, child, actor=OFFICE, at=MONDAY, rules=RULES, department=family.other
    )
    assert await status(sm, child) == (S.DISPATCHED, None)
    # once the reply reached it, the merged caller's case is no longer undone
    again = await family.case()
    await family.merge(again, main)
    await family.reply(main)
    await refused(
        undo(sm, again, actor=OFFICE, at=MONDAY, rules=RULES, reason="晚了"),
        RefusalKind.CONFLICT,
        "已回复待回访",
    )


# --- suggestions from the database -------------------------------------------------------


async def test_suggestions_read_the_street_from_the_database(family: Family) -> None:
    sm, road = family.sm, family.road
    first = await family.case(
        summary=f"{road}12号路灯坏了", transcript=f"你好，{road}12号门口的路灯坏了，晚上很黑"
    )
    second = await family.case(
        summary="路灯不亮",
        transcript=f"喂，{road}十二号那边的路灯好几天不亮了",
        address=f"{road}十二号",
    )
    third = await family.case(
        summary="路灯晚上不亮", transcript=f"我家楼下{road}上的路灯晚上一直不亮", address=None
    )
    elsewhere = await family.case(summary="路灯坏了不亮", address=f"{street()}12号")
    smoke = await family.case(summary="饭店油烟扰民", transcript="油烟很大，晚上噪音扰民")
    reporter = await family.case(summary="路灯坏了不亮", whistleblower=True)
    gone = await family.case(summary="路灯坏了不亮")
    await closing.archive(sm, gone, actor=OFFICE, at=MONDAY, rules=RULES, reason="重复来电")
    found = await merge_views.duplicates(sm, second, window_days=WINDOW)
    suggested = {item.case.id for item in found}
    assert {first, third} <= suggested
    assert not {elsewhere, smoke, reporter, gone, second} & suggested
    best = found[0]
    assert best.suggestion.score >= 0.45 and "路灯" in best.suggestion.shared_words
    assert await merge_views.duplicates(sm, reporter, window_days=WINDOW) == []
    # a merged case is offered as its main case, with the case that matched
    await family.merge(third, first)
    found = await merge_views.duplicates(sm, second, window_days=WINDOW)
    assert [(i.case.id, [v.id for v in i.via]) for i in found][:1] == [(first, [third])]
    with pytest.raises(RecordNotFound):
        await merge_views.duplicates(sm, 2**31 - 1, window_days=WINDOW)
