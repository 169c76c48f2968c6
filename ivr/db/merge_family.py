"""并单 inside the workflow's other moves: what the main case's reply, rework and archive do
to the cases merged into it, and what a merged caller's follow-up does to the main case.

    main replied        → each merged case waiting (merged) is replied with it (replied):
                          the follow-up call rings every merged caller
    merged caller content   → followed_up, archived with the main case
    merged caller unhappy   → back to merged; the main case reworked with their words (or,
                          already back at work, given them as a note)
    main reworked       → merged cases still waiting for their follow-up wait again (merged)
    main archived       → the followed-up ones with it; refused while one still waits

Lock order: a main case before the cases merged into it, in every move (`taking_family`
locks a merged case's main first; a merge takes the main first too), so two moves on one
family wait for each other instead of deadlocking.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.cases import lock_case
from ivr.db.models import Case, CaseEventKind, CaseStatus
from ivr.db.workflow_models import CaseReply, ProgressNote
from ivr.db.workflow_state import Actor, Context, load
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import CLOSING, Action, ActionRefused, RefusalKind

S, K = CaseStatus, CaseEventKind
ATTEMPTS = 3  # a family re-arranged by a merge while a move waited: look again this often
Rework = Callable[[Context, str], Awaitable[None]]


def label(case: Case) -> str:
    """The case as the office names it: its number (an id before it has one)."""
    return case.number or f"#{case.id}"


@contextlib.asynccontextmanager
async def taking_family(
    sm: Sessions, case_id: int, action: Action, actor: Actor, at: datetime, rules: WorkflowRules
) -> AsyncIterator[Context]:
    """`workflow_state.taking`, with the case's main case (if it is merged) locked first."""
    for _ in range(ATTEMPTS):
        async with sm.begin() as session:
            main_id = await session.scalar(select(Case.merged_into_id).where(Case.id == case_id))
            if main_id is not None:
                await lock_case(session, main_id)
            ctx = await load(session, case_id, actor, at, rules)
            if ctx.case.merged_into_id != main_id:
                continue  # merged meanwhile: start again, its new main first
            ctx.require(action)
            yield ctx
            return
    raise ActionRefused(RefusalKind.CONFLICT, "工单的并单关系正在变动，请稍后再试")


async def main_context(ctx: Context) -> Context:
    """The merged case's main case, as the same actor (`taking_family` has locked it)."""
    main_id = ctx.case.merged_into_id
    assert main_id is not None  # callers ask for merged cases only
    return await load(ctx.session, main_id, ctx.actor, ctx.at, ctx.rules)


async def merged_into(session: AsyncSession, main_id: int, *statuses: CaseStatus) -> list[Case]:
    """The cases merged into `main_id` (in these statuses), locked, oldest first."""
    query = select(Case).where(Case.merged_into_id == main_id)
    if statuses:
        query = query.where(Case.status.in_([s.value for s in statuses]))
    return list(await session.scalars(query.order_by(Case.id).with_for_update()))


async def share_reply(ctx: Context, reply: Mapping[str, object]) -> list[str]:
    """The main case is replied: every case merged into it and waiting gets the reply."""
    waiting = await merged_into(ctx.session, ctx.case.id, S.MERGED)
    for child in waiting:
        give_reply(ctx, ctx.case, child, reply)
    return [label(child) for child in waiting]


def give_reply(ctx: Context, main: Case, child: Case, reply: Mapping[str, object]) -> None:
    """`child` is replied with its main case's reply, and waits for its own follow-up."""
    before = {"status": child.status}
    child.status = S.REPLIED.value
    after = {"status": child.status, "main": label(main), **reply}
    ctx.record_on(child, K.REPLIED, before=before, after=after, note=f"主工单 {label(main)} 已回复")


def reply_facts(row: CaseReply) -> dict[str, object]:
    """What a merged case's audit entry says of the reply it was given."""
    return {
        "department": row.department,
        "result": row.result,
        "handler": row.handler,
        "handled_on": row.handled_on,
    }


async def latest_reply(session: AsyncSession, case_id: int) -> CaseReply | None:
    """The case's newest reply, if it has one."""
    query = select(CaseReply).where(CaseReply.case_id == case_id).order_by(CaseReply.id.desc())
    return await session.scalar(query.limit(1))


async def complaint_to_main(ctx: Context, words: str, rework: Rework) -> None:
    """A merged caller is not content: they wait for the main case's next reply, and their
    words go to it (reworked if it was closing, else a note on the work under way)."""
    main = await main_context(ctx)
    said = f"并单工单 {label(ctx.case)} 的市民：{words}"
    before = {"status": ctx.case.status}
    ctx.case.status = S.MERGED.value
    ctx.record(K.REOPENED, before=before, after=_waiting(ctx.case, main.case), note=words)
    if main.status in CLOSING:
        main.require(Action.REOPEN)
        await rework(main, said)
    elif main.status in (S.ARCHIVED, S.MERGED, S.DRAFT):
        raise ActionRefused(RefusalKind.CONFLICT, f"主工单 {label(main.case)} 已不能再办理")
    else:
        author = ctx.actor.username
        main.session.add(
            ProgressNote(case_id=main.case.id, department=None, author=author, at=ctx.at, text=said)
        )
        told: dict[str, object] = {"department": None, "merged_case": label(ctx.case)}
        main.record(K.NOTE_ADDED, after=told, note=said)


async def wait_again(ctx: Context) -> None:
    """The main case goes back for rework: merged cases still waiting for their follow-up
    wait for its next reply instead (those followed up stay closed)."""
    for child in await merged_into(ctx.session, ctx.case.id, S.REPLIED):
        child.status = S.MERGED.value
        after = _waiting(child, ctx.case)
        note = f"主工单 {label(ctx.case)} 重新办理，等待新的回复"
        ctx.record_on(child, K.REOPENED, before={"status": S.REPLIED.value}, after=after, note=note)


async def archive_merged(ctx: Context) -> list[str]:
    """The main case is archived: the merged cases followed up are archived with it.

    Refused while one still waits for a reply or for its follow-up: follow it up, archive
    it on its own (with a reason) or undo its merge first.
    """
    children = await merged_into(ctx.session, ctx.case.id, S.MERGED, S.REPLIED, S.FOLLOWED_UP)
    waiting = [label(child) for child in children if child.status != S.FOLLOWED_UP]
    if waiting:
        raise ActionRefused(
            RefusalKind.CONFLICT,
            f"并单工单 {'、'.join(waiting)} 还在等待回复或回访：请先回访或归档它们，或取消并单",
        )
    for child in children:
        child.status = S.ARCHIVED.value
        after = {"status": child.status, "main": label(ctx.case)}
        note = f"随主工单 {label(ctx.case)} 归档"
        ctx.record_on(
            child, K.ARCHIVED, before={"status": S.FOLLOWED_UP.value}, after=after, note=note
        )
    return [label(child) for child in children]


def _waiting(child: Case, main: Case) -> dict[str, object]:
    return {"status": child.status, "main": label(main)}
