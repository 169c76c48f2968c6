"""The workflow's moves up to the department's work: 交办, 签收, 退单 and the office's answer.

Each move is one transaction (`ivr.db.workflow_state.taking`): lock the case, ask the
transition rules, change the rows, write the audit entry. A refusal (ActionRefused,
ValidationError, RecordNotFound) leaves nothing behind. The department's own work
(extensions, notes, the reply) is in ivr.db.workflow_handling; the follow-up, rework and
archive in ivr.db.workflow_close.

A round is one dispatch of the case: to a lead department and any co-handlers, with the
deadlines of ivr.workflow.deadlines counted from its start. A re-dispatch after a return
and a rework (重新办理) each start a new round.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ivr.db.calls import Sessions
from ivr.db.cases import CaseView
from ivr.db.models import CaseEventKind, CaseStatus
from ivr.db.workflow_catalogue import (
    active_departments,
    catalogue_in,
    require_departments,
    suggestion,
)
from ivr.db.workflow_models import AssignmentKind, CaseAssignment, Decision, HandlerRole
from ivr.db.workflow_state import Actor, Context, last_round, taking
from ivr.errors import ValidationError
from ivr.workflow import inputs
from ivr.workflow.deadlines import Deadlines, deadlines_for
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import Action, status_after

__all__ = ["Actor", "accept", "dispatch", "redispatch", "reject_return", "return_case"]


async def dispatch(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    department: object = None,
    co: object = None,
    instructions: object = None,
) -> CaseView:
    """交办 a registered case: to `department` (default: see ivr.db.workflow_catalogue)."""
    note = inputs.optional_text(instructions, "交办意见", limit=inputs.NOTE_LIMIT)
    async with taking(sm, case_id, Action.DISPATCH, actor, at, rules) as ctx:
        lead, helpers = await _chosen(ctx, department, co)
        before = _was(ctx)
        await start_round(ctx, lead, helpers, AssignmentKind.DISPATCH, note)
        ctx.record(CaseEventKind.DISPATCHED, before=before, after=_round_facts(ctx), note=note)
        return await ctx.view()


async def accept(
    sm: Sessions, case_id: int, *, actor: Actor, at: datetime, rules: WorkflowRules
) -> CaseView:
    """签收: the department takes the case on (the lead's acceptance starts the handling)."""
    async with taking(sm, case_id, Action.ACCEPT, actor, at, rules) as ctx:
        desk = _desk(ctx)
        before = _was(ctx)
        ctx.case.status = status_after(Action.ACCEPT, ctx.situation()).value
        desk.accepted_at, desk.accepted_by = at, actor.username
        after = {"status": ctx.case.status, "department": desk.department, "role": desk.role}
        ctx.record(CaseEventKind.ACCEPTED, before=before, after=after | _late(at, desk.accept_due))
        return await ctx.view()


async def return_case(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    reason: object,
) -> CaseView:
    """退单: the lead department sends the case back to the office, with its reason."""
    why = inputs.reason(reason, "退单理由")
    async with taking(sm, case_id, Action.RETURN, actor, at, rules) as ctx:
        desk, before = _desk(ctx), _was(ctx)
        desk.returned_at, desk.returned_by, desk.return_reason = at, actor.username, why
        ctx.case.status = CaseStatus.RETURNED.value
        after = {"status": ctx.case.status, "department": desk.department}
        ctx.record(CaseEventKind.RETURNED, before=before, after=after, note=why)
        return await ctx.view()


async def reject_return(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    reason: object,
) -> CaseView:
    """驳回退单: the case stays with the department, its deadlines unchanged."""
    why = inputs.reason(reason, "驳回理由")
    async with taking(sm, case_id, Action.REJECT_RETURN, actor, at, rules) as ctx:
        before = _was(ctx)
        ctx.case.status = status_after(Action.REJECT_RETURN, ctx.situation()).value
        lead = ctx.lead
        if lead is not None:
            lead.return_rejected_at = at
        after = {"status": ctx.case.status, "department": ctx.case.department}
        ctx.record(CaseEventKind.RETURN_REJECTED, before=before, after=after, note=why)
        return await ctx.view()


async def redispatch(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    department: object,
    co: object = None,
    instructions: object = None,
) -> CaseView:
    """同意退单并改派: a new round with another lead department."""
    lead_name = inputs.department_name(department, "改派单位")
    helpers = inputs.co_handlers(co, lead_name)
    note = inputs.optional_text(instructions, "改派意见", limit=inputs.NOTE_LIMIT)
    async with taking(sm, case_id, Action.REDISPATCH, actor, at, rules) as ctx:
        returning = ctx.lead
        if returning is not None and returning.department == lead_name:
            raise ValidationError(f"{lead_name} 正是退单单位：要让它继续办理，请驳回退单")
        await require_departments(ctx.session, [lead_name, *helpers])
        before = _was(ctx)
        for row in ctx.current:
            row.withdrawn_at = at
        await start_round(ctx, lead_name, helpers, AssignmentKind.REDISPATCH, note)
        ctx.record(CaseEventKind.REDISPATCHED, before=before, after=_round_facts(ctx), note=note)
        return await ctx.view()


async def start_round(
    ctx: Context,
    lead: str,
    helpers: Sequence[str],
    kind: AssignmentKind,
    instructions: str | None,
) -> None:
    """Give the case to `lead` (and `helpers`) with fresh deadlines, ending the last round."""
    case, at = ctx.case, ctx.at
    deadlines = deadlines_for(
        ctx.rules.policy,
        await ctx.calendar(),
        dispatched_at=at,
        priority=case.priority,
        category=case.category,
        rework=kind is AssignmentKind.REWORK,
    )
    number = await last_round(ctx.session, case.id) + 1
    for row in ctx.current:
        row.current = False
    if ctx.pending is not None:  # asked for in a round that is over
        ctx.pending.decision, ctx.pending.decided_at = Decision.VOID.value, at
    roles = [(lead, HandlerRole.LEAD), *((name, HandlerRole.CO) for name in helpers)]
    ctx.current = [
        _assignment(ctx, name, role, number, kind, instructions, deadlines) for name, role in roles
    ]
    ctx.session.add_all(ctx.current)
    case.status, case.department = CaseStatus.DISPATCHED.value, lead


def _assignment(
    ctx: Context,
    department: str,
    role: HandlerRole,
    number: int,
    kind: AssignmentKind,
    instructions: str | None,
    deadlines: Deadlines,
) -> CaseAssignment:
    return CaseAssignment(
        case_id=ctx.case.id,
        department=department,
        role=role.value,
        round=number,
        kind=kind.value,
        current=True,
        instructions=instructions,
        dispatched_at=ctx.at,
        dispatched_by=ctx.actor.username,
        accept_due=deadlines.accept_due,
        reply_due=deadlines.reply_due,
        return_until=deadlines.return_until,
    )


async def _chosen(ctx: Context, department: object, co: object) -> tuple[str, tuple[str, ...]]:
    # The departments named, or the default for the case; all of them listed and active.
    if department is None or (isinstance(department, str) and not department.strip()):
        entries = await catalogue_in(ctx.session, ctx.case.category)
        entry = entries[0] if entries else None
        listed = await active_departments(ctx.session, [ctx.case.department])
        lead, helpers = suggestion(ctx.case.department, entry, listed)
        if lead is None:
            raise ValidationError(
                f"请选择承办单位：分类 {ctx.case.category} 在派单目录中没有默认单位"
            )
        if co is not None:
            helpers = inputs.co_handlers(co, lead)
    else:
        lead = inputs.department_name(department)
        helpers = inputs.co_handlers(co, lead)
    await require_departments(ctx.session, [lead, *helpers])
    return lead, helpers


def _desk(ctx: Context) -> CaseAssignment:
    # the rules have checked that a department actor has its assignment
    assert ctx.desk is not None
    return ctx.desk


def _was(ctx: Context) -> dict[str, object]:
    return {"status": ctx.case.status, "department": ctx.case.department}


def _round_facts(ctx: Context) -> dict[str, object]:
    lead = ctx.current[0]
    return {
        "status": ctx.case.status,
        "department": lead.department,
        "co_departments": [row.department for row in ctx.current[1:]],
        "round": lead.round,
        "accept_due": lead.accept_due,
        "reply_due": lead.reply_due,
        "return_until": lead.return_until,
    }


def _late(at: datetime, due: datetime) -> dict[str, object]:
    return {"late": at > due}
