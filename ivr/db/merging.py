"""并单: the office merges a duplicate into the main case, and may take it back out.

`merge` (the case joins `into`, its main case): status merged and merged_into_id set; its
current assignments withdrawn, so its departments no longer see it (the main case's work
answers for it), and an extension request left undecided is void; cases merged into it
join the main case too, so merging stays one level deep. A main case already replied gives
the newcomer its reply at once (ivr.db.merge_family: every merged caller is called back).
Audit entries on both cases name the other's number: MERGED on the case, MERGE_RECEIVED on
the main case.

One transaction: all merges take one lock first (PostgreSQL; SQLite's writers take turns
anyway), then the main case, then the case. Two offices merging A into B and B into A, or
one case into two mains, are taken one after the other and the second is refused; the
versions the office saw (`version`, `into_version`) are checked, so a merge decided on a
page that has since changed is refused rather than carried out.

`unmerge` (取消并单): while the case still waits for the main case's reply, it is registered
again, to be dispatched on its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.cases import CaseView, lock_case
from ivr.db.merge_family import (
    give_reply,
    label,
    latest_reply,
    merged_into,
    reply_facts,
    taking_family,
)
from ivr.db.models import Case, CaseEventKind, CaseStatus
from ivr.db.workflow_handling import decide
from ivr.db.workflow_models import CaseAssignment, Decision
from ivr.db.workflow_state import Actor, Context, load
from ivr.errors import StaleEdit, ValidationError
from ivr.workflow import inputs
from ivr.workflow.merge_rules import MergeSide, merge_refusal
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import CLOSING, Action

S, K = CaseStatus, CaseEventKind
# The advisory lock every merge takes first (any fixed pair of 32-bit numbers).
_MERGE_LOCK = (12345, 7)
_MAX_ID = 2**31 - 1
_NUMBER_LIMIT = 32


async def merge(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    into: object,
    version: object = None,
    into_version: object = None,
    reason: object = None,
) -> CaseView:
    """并单: the case is handled as part of `into` (an id, or a case number) from now on."""
    note = inputs.optional_text(reason, "并单说明", limit=inputs.REASON_LIMIT)
    seen, seen_main = _version(version, "version"), _version(into_version, "into_version")
    async with sm.begin() as session:
        await _one_merge_at_a_time(session)
        main = await lock_case(session, await _main_id(session, into))
        ctx = await load(session, case_id, actor, at, rules)
        ctx.require(Action.MERGE)
        _check_version(ctx.case, seen)
        _check_version(main, seen_main)
        refused = merge_refusal(_side(ctx.case), _side(main))
        if refused is not None:
            raise refused
        await _join(ctx, main, note)
        return await ctx.view()


async def unmerge(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    reason: object,
) -> CaseView:
    """取消并单: a merged case still waiting for a reply is handled on its own again."""
    why = inputs.reason(reason, "取消并单理由")
    async with taking_family(sm, case_id, Action.UNMERGE, actor, at, rules) as ctx:
        main = await ctx.session.get(Case, ctx.case.merged_into_id or 0)  # locked first
        main_label = label(main) if main is not None else None
        before = {"status": ctx.case.status, "merged_into": main_label}
        ctx.case.status, ctx.case.merged_into_id = S.REGISTERED.value, None
        after = {"status": ctx.case.status, "merged_into": None}
        ctx.record(K.UNMERGED, before=before, after=after, note=f"取消并单：{why}")
        if main is not None:
            note = f"工单 {label(ctx.case)} 取消并单：{why}"
            ctx.record_on(main, K.UNMERGED, after={"unmerged": label(ctx.case)}, note=note)
        return await ctx.view()


async def _unwithdrawn(session: AsyncSession, case_id: int) -> list[CaseAssignment]:
    query = select(CaseAssignment).where(
        CaseAssignment.case_id == case_id, CaseAssignment.withdrawn_at.is_(None)
    )
    return list(await session.scalars(query))


async def _join(ctx: Context, main: Case, note: str | None) -> None:
    case, at = ctx.case, ctx.at
    before = {"status": case.status, "department": case.department, "merged_into": None}
    # the main case's departments answer for it now: every department that still sees
    # this case (its earlier rounds' too) stops seeing it
    withdrawn = await _unwithdrawn(ctx.session, case.id)
    for row in withdrawn:
        row.withdrawn_at = at
    if ctx.pending is not None:
        decide(ctx.pending, Decision.VOID, ctx, "已并单，延期申请作废")
    case.status, case.merged_into_id = S.MERGED.value, main.id
    along = await _take_along(ctx, main)
    after = {
        "status": case.status,
        "merged_into": label(main),
        "merged_into_id": main.id,
        "withdrawn": sorted({row.department for row in withdrawn}),
    }
    ctx.record(K.MERGED, before=before, after=after, note=note)
    received = {"merged_case": label(case), "merged_case_id": case.id}
    received["along"] = [label(child) for child in along]
    ctx.record_on(main, K.MERGE_RECEIVED, after=received, note=note)
    reply = await latest_reply(ctx.session, main.id) if S(main.status) in CLOSING else None
    if reply is not None:  # joined after the answer: it is theirs too, and so is the call
        for child in [case, *along]:
            if child.status == S.MERGED:
                give_reply(ctx, main, child, reply_facts(reply))


async def _take_along(ctx: Context, main: Case) -> list[Case]:
    # Cases merged into this one join its main case (archived ones keep their history).
    along = await merged_into(ctx.session, ctx.case.id, S.MERGED, S.REPLIED, S.FOLLOWED_UP)
    for child in along:
        child.merged_into_id = main.id
        before, after = {"merged_into": label(ctx.case)}, {"merged_into": label(main)}
        note = f"随工单 {label(ctx.case)} 并入 {label(main)}"
        ctx.record_on(child, K.MERGED, before=before, after=after, note=note)
    return along


async def _one_merge_at_a_time(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(*_MERGE_LOCK)))


async def _main_id(session: AsyncSession, into: object) -> int:
    if into is None or isinstance(into, bool) or (isinstance(into, str) and not into.strip()):
        raise ValidationError("请填写要并入的主工单（工单编号）")
    if isinstance(into, str) and into.strip().isdigit():
        into = int(into.strip())
    if isinstance(into, int):
        query = select(Case.id).where(Case.id == into) if 0 < into <= _MAX_ID else None
    elif isinstance(into, str) and len(into.strip()) <= _NUMBER_LIMIT:
        query = select(Case.id).where(Case.number == into.strip())
    else:
        raise ValidationError("主工单应为工单编号")
    found = await session.scalar(query) if query is not None else None
    if found is None:
        raise ValidationError(f"没有工单 {into}")
    return int(found)


def _version(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} 应为整数（页面上工单的版本）")
    return value


def _check_version(case: Case, seen: int | None) -> None:
    if seen is not None and case.version != seen:
        raise StaleEdit(
            f"工单 {label(case)} 在您打开页面后已有变动（版本 {seen}，现为 {case.version}）："
            "请刷新后再并单"
        )


def _side(case: Case) -> MergeSide:
    return MergeSide(
        id=case.id,
        number=case.number,
        status=S(case.status),
        whistleblower=case.whistleblower,
        merged_into_id=case.merged_into_id,
    )
