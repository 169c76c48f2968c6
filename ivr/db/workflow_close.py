"""Closing a case: the follow-up's answers (回访), rework (重新办理) and the archive (归档).

The follow-up call records what the citizen said with `record_follow_up`, as
`Actor.system()`: a content citizen closes the case (followed_up, ready to archive); an
unresolved or unsatisfied one sends it straight back to the same departments for rework,
with the citizen's words, unless the office records the answers with an override reason.
The office may also `reopen` a replied or followed-up case itself, to another department
with a reason. Archived cases are read-only.

并单 (ivr.db.merge_family): a merged caller's unhappy follow-up, or the office reopening a
merged case, reworks the main case instead, with their words, and the merged case waits for
its next reply; a main case's rework sends its merged cases still waiting for their
follow-up back to waiting; archiving a main case archives its followed-up merged cases.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from ivr.db.calls import Sessions
from ivr.db.cases import CaseView
from ivr.db.merge_family import archive_merged, complaint_to_main, taking_family, wait_again
from ivr.db.models import CaseEventKind, CaseStatus
from ivr.db.workflow import start_round
from ivr.db.workflow_catalogue import require_departments
from ivr.db.workflow_models import AssignmentKind, CaseSurvey, HandlerRole
from ivr.db.workflow_state import Actor, Context, last_round, taking
from ivr.errors import ValidationError
from ivr.workflow import inputs
from ivr.workflow.inputs import Survey
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import (
    ARCHIVE_NEEDS_REASON,
    Action,
    ActionRefused,
    Party,
    RefusalKind,
    follow_up_status,
)


@dataclasses.dataclass(frozen=True)
class FollowUpOutcome:
    """The case after a follow-up, and whether it went back for rework."""

    case: CaseView
    reopened: bool


async def record_follow_up(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    resolved: object,
    satisfaction: object,
    citizen_words: object = None,
    override_reason: object = None,
) -> FollowUpOutcome:
    """回访: save the citizen's answers; close the case, or reopen it for rework."""
    survey = inputs.survey_input(resolved, satisfaction, citizen_words)
    override = inputs.optional_text(override_reason, "不重新办理的理由", limit=inputs.REASON_LIMIT)
    if override is not None and actor.party is not Party.OFFICE:
        raise ActionRefused(RefusalKind.FORBIDDEN, "只有热线办可以决定不重新办理")
    if survey.content:
        override = None  # nothing to override
    async with taking_family(sm, case_id, Action.FOLLOW_UP, actor, at, rules) as ctx:
        status = follow_up_status(citizen_content=survey.content, overridden=override is not None)
        reopened = status is CaseStatus.DISPATCHED
        ctx.session.add(
            _survey_row(ctx, survey, override, reopened, await last_round(ctx.session, case_id))
        )
        before = {"status": ctx.case.status}
        ctx.case.status = CaseStatus.FOLLOWED_UP.value
        after = {
            "status": ctx.case.status,
            "resolved": survey.resolved,
            "satisfaction": survey.satisfaction.value,
            "override_reason": override,
        }
        ctx.record(CaseEventKind.FOLLOWED_UP, before=before, after=after, note=survey.citizen_words)
        if reopened:
            await _rework_any(
                ctx, survey.citizen_words or "", department=None, co=None, reason=None
            )
        return FollowUpOutcome(await ctx.view(), reopened)


async def reopen(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    citizen_words: object,
    department: object = None,
    co: object = None,
    reason: object = None,
) -> CaseView:
    """重新办理 with the citizen's words: the same department, or the office's choice and reason."""
    words = inputs.text(citizen_words, "市民意见", limit=inputs.NOTE_LIMIT)
    why = inputs.optional_text(reason, "理由", limit=inputs.REASON_LIMIT)
    async with taking_family(sm, case_id, Action.REOPEN, actor, at, rules) as ctx:
        await _rework_any(ctx, words, department=department, co=co, reason=why)
        return await ctx.view()


async def archive(
    sm: Sessions,
    case_id: int,
    *,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    reason: object = None,
) -> CaseView:
    """归档: the case becomes read-only; before a follow-up only with the office's reason."""
    why = inputs.optional_text(reason, "归档说明", limit=inputs.REASON_LIMIT)
    async with taking(sm, case_id, Action.ARCHIVE, actor, at, rules) as ctx:
        if ctx.status in ARCHIVE_NEEDS_REASON and why is None:
            raise ValidationError("未交办或未回访的工单归档时，请填写归档说明")
        along = await archive_merged(ctx)
        before = {"status": ctx.case.status}
        ctx.case.status = CaseStatus.ARCHIVED.value
        after: dict[str, object] = {"status": ctx.case.status}
        if along:
            after["merged_archived"] = along
        ctx.record(CaseEventKind.ARCHIVED, before=before, after=after, note=why)
        return await ctx.view()


async def _rework_any(
    ctx: Context, words: str, *, department: object, co: object, reason: str | None
) -> None:
    # A merged case is reworked as its main case, with this caller's words.
    if ctx.case.merged_into_id is None:
        await _rework(ctx, words, department=department, co=co, reason=reason)
        return

    async def rework_main(main: Context, said: str) -> None:
        await _rework(main, said, department=department, co=co, reason=reason)

    await complaint_to_main(ctx, words, rework_main)


async def _rework(
    ctx: Context, words: str, *, department: object, co: object, reason: str | None
) -> None:
    last = ctx.lead
    same = last.department if last is not None else ctx.case.department
    lead = same if department is None else inputs.department_name(department, "重办单位")
    if lead != same:
        if ctx.actor.party is not Party.OFFICE:
            raise ActionRefused(RefusalKind.FORBIDDEN, "只有热线办可以改由其他单位重新办理")
        if reason is None:
            raise ValidationError("改由其他单位重新办理时，请填写理由")
    if co is None:
        helpers = tuple(r.department for r in ctx.current if r.role == HandlerRole.CO)
        helpers = tuple(name for name in helpers if name != lead)
    else:
        helpers = inputs.co_handlers(co, lead)
    await require_departments(ctx.session, [lead, *helpers])
    before = {"status": ctx.case.status, "department": ctx.case.department}
    await start_round(ctx, lead, helpers, AssignmentKind.REWORK, words)
    row = ctx.current[0]
    after = {
        "status": ctx.case.status,
        "department": lead,
        "co_departments": list(helpers),
        "round": row.round,
        "accept_due": row.accept_due,
        "reply_due": row.reply_due,
        "reason": reason,
    }
    ctx.record(CaseEventKind.REOPENED, before=before, after=after, note=words)
    await wait_again(ctx)


def _survey_row(
    ctx: Context, survey: Survey, override: str | None, reopened: bool, number: int
) -> CaseSurvey:
    return CaseSurvey(
        case_id=ctx.case.id,
        round=number,
        at=ctx.at,
        actor=ctx.actor.username,
        resolved=survey.resolved,
        satisfaction=survey.satisfaction.value,
        citizen_words=survey.citizen_words,
        override_reason=override,
        reopened=reopened,
    )
