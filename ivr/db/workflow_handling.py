"""The department's work on a case: extensions (延期) and the office's answer, progress
notes (办理进展), and the formal reply (回复), which the cases merged into this one get too
(ivr.db.merge_family). One transaction per move, with its audit entry, as in
ivr.db.workflow."""

from __future__ import annotations

from datetime import datetime

from ivr.db.calls import Sessions
from ivr.db.cases import CaseView
from ivr.db.merge_family import share_reply
from ivr.db.models import CaseEventKind, CaseStatus
from ivr.db.workflow_models import (
    CaseAssignment,
    CaseReply,
    Decision,
    ExtensionRequest,
    ProgressNote,
)
from ivr.db.workflow_state import Actor, Context, taking
from ivr.workflow import inputs
from ivr.workflow.deadlines import extended_due
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import Action, Party


async def request_extension(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    days: object,
    reason: object,
) -> CaseView:
    """申请延期: the lead department asks for `days` more working days, with a reason."""
    wanted = inputs.extension_days(days, rules.policy)
    why = inputs.reason(reason, "延期理由")
    async with taking(sm, case_id, Action.REQUEST_EXTENSION, actor, at, rules) as ctx:
        desk = ctx.desk
        assert desk is not None  # the rules checked it
        ctx.session.add(
            ExtensionRequest(
                case_id=case_id,
                assignment_id=desk.id,
                department=desk.department,
                days=wanted,
                reason=why,
                requested_by=actor.username,
                requested_at=at,
                previous_due=desk.reply_due,
            )
        )
        after = {"days": wanted, "reply_due": desk.reply_due, "department": desk.department}
        ctx.record(CaseEventKind.EXTENSION_REQUESTED, after=after, note=why)
        return await ctx.view()


async def approve_extension(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    note: object = None,
) -> CaseView:
    """批准延期: the reply deadline moves by the days asked, counted in working days."""
    remark = inputs.optional_text(note, "审批意见", limit=inputs.REASON_LIMIT)
    async with taking(sm, case_id, Action.APPROVE_EXTENSION, actor, at, rules) as ctx:
        request, lead = _pending(ctx), ctx.lead
        assert lead is not None  # a case being handled has its lead
        old = lead.reply_due
        new = extended_due(await ctx.calendar(), old, request.days)
        for row in ctx.current:  # co-handlers work to the same deadline
            row.reply_due = new
        decide(request, Decision.APPROVED, ctx, remark)
        request.new_due = new
        after = {"reply_due": new, "days": request.days}
        ctx.record(
            CaseEventKind.EXTENSION_APPROVED, before={"reply_due": old}, after=after, note=remark
        )
        return await ctx.view()


async def deny_extension(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    reason: object,
) -> CaseView:
    """驳回延期: the deadline stays; the department is told why."""
    why = inputs.reason(reason, "驳回理由")
    async with taking(sm, case_id, Action.DENY_EXTENSION, actor, at, rules) as ctx:
        request = _pending(ctx)
        decide(request, Decision.DENIED, ctx, why)
        ctx.record(CaseEventKind.EXTENSION_DENIED, after={"days": request.days}, note=why)
        return await ctx.view()


async def add_note(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    text: object,
) -> CaseView:
    """办理进展 from a department (after accepting), or the office's remark on an open case."""
    body = inputs.text(text, "办理进展", limit=inputs.NOTE_LIMIT)
    async with taking(sm, case_id, Action.NOTE, actor, at, rules) as ctx:
        department = actor.department if actor.party is Party.DEPARTMENT else None
        ctx.session.add(
            ProgressNote(
                case_id=case_id, department=department, author=actor.username, at=at, text=body
            )
        )
        ctx.record(CaseEventKind.NOTE_ADDED, after={"department": department}, note=body)
        return await ctx.view()


async def reply(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    result: object,
    handler: object,
    handled_on: object,
) -> CaseView:
    """回复: the lead department's result, handler and date, all required."""
    answer = inputs.reply_input(result, handler, handled_on)
    async with taking(sm, case_id, Action.REPLY, actor, at, rules) as ctx:
        desk = ctx.desk
        assert desk is not None  # the rules checked it
        zone = rules.zone
        inputs.check_handled_on(
            answer.handled_on,
            today=at.astimezone(zone).date(),
            dispatched_on=desk.dispatched_at.astimezone(zone).date(),
        )
        ctx.session.add(_reply_row(desk, answer, actor, at))
        desk.replied_at = at
        if ctx.pending is not None:  # replied in time after all: nothing left to decide
            decide(ctx.pending, Decision.VOID, ctx, "已回复，延期申请作废")
        before = {"status": ctx.case.status}
        ctx.case.status = CaseStatus.REPLIED.value
        given: dict[str, object] = {"department": desk.department, "result": answer.result}
        given |= {"handler": answer.handler, "handled_on": answer.handled_on}
        after = {"status": ctx.case.status, **given, "late": at > desk.reply_due}
        # 并单: every caller merged into this case gets the reply, and its follow-up call
        shared = await share_reply(ctx, given)
        if shared:
            after["shared_with"] = shared
        ctx.record(CaseEventKind.REPLIED, before=before, after=after)
        return await ctx.view()


def _reply_row(
    desk: CaseAssignment, answer: inputs.ReplyInput, actor: Actor, at: datetime
) -> CaseReply:
    return CaseReply(
        case_id=desk.case_id,
        assignment_id=desk.id,
        department=desk.department,
        round=desk.round,
        result=answer.result,
        handler=answer.handler,
        handled_on=answer.handled_on,
        written_by=actor.username,
        written_at=at,
    )


def _pending(ctx: Context) -> ExtensionRequest:
    # the rules have checked that there is one
    assert ctx.pending is not None
    return ctx.pending


def decide(request: ExtensionRequest, decision: Decision, ctx: Context, note: str | None) -> None:
    """Settle an extension request as the move's actor, now."""
    request.decision, request.decision_note = decision.value, note
    request.decided_by, request.decided_at = ctx.actor.username, ctx.at
