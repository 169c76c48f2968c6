"""What the workflow's pages read: a case's whole file, a department's desk, the office's
board. Snapshots, not tied to a session; masking for the viewer is the web layer's job
(ivr.web.workflow_json). A merged case's file carries its main case and that case's
replies (the answer its caller is given); a main case's file lists the cases merged into it."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db import cases
from ivr.db.calls import Sessions
from ivr.db.cases import CaseView
from ivr.db.models import (
    Case,
    CaseEvent,
    CaseStatus,
)
from ivr.db.workflow_models import (
    CaseAssignment,
    CaseReply,
    CaseSurvey,
    ExtensionRequest,
    HandlerRole,
    ProgressNote,
)
from ivr.db.workflow_state import Actor, load
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import Action, allowed_actions

BOARD_LIMIT = 200
DESK_LIMIT = 500
V = TypeVar("V")


@dataclasses.dataclass(frozen=True)
class AssignmentView:
    """A department's part in one round."""

    id: int
    department: str
    role: str
    round: int
    kind: str
    current: bool
    instructions: str | None
    dispatched_at: datetime
    dispatched_by: str
    accept_due: datetime
    reply_due: datetime
    return_until: datetime
    accepted_at: datetime | None
    accepted_by: str | None
    returned_at: datetime | None
    return_reason: str | None
    return_rejected_at: datetime | None
    withdrawn_at: datetime | None
    replied_at: datetime | None

    @property
    def is_lead(self) -> bool:
        """Whether this is the lead department (主办)."""
        return self.role == HandlerRole.LEAD


@dataclasses.dataclass(frozen=True)
class ExtensionView:
    """An extension request and its decision."""

    id: int
    case_id: int
    department: str
    days: int
    reason: str
    requested_by: str
    requested_at: datetime
    previous_due: datetime
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    new_due: datetime | None


@dataclasses.dataclass(frozen=True)
class NoteView:
    """A progress note (department None: the office's)."""

    department: str | None
    author: str
    at: datetime
    text: str


@dataclasses.dataclass(frozen=True)
class ReplyView:
    """A formal reply (`case_id`: the main case's, for a merged case given its reply)."""

    case_id: int
    department: str
    round: int
    result: str
    handler: str
    handled_on: date
    written_by: str
    written_at: datetime


@dataclasses.dataclass(frozen=True)
class SurveyView:
    """A follow-up's answers."""

    round: int
    at: datetime
    actor: str
    resolved: bool
    satisfaction: str
    citizen_words: str | None
    override_reason: str | None
    reopened: bool


@dataclasses.dataclass(frozen=True)
class EventView:
    """An audit-trail entry."""

    at: datetime
    actor: str
    kind: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None


@dataclasses.dataclass(frozen=True)
class CaseFile:
    """Everything about a case's workflow, and what the viewer may do with it now."""

    case: CaseView
    assignments: tuple[AssignmentView, ...]
    extensions: tuple[ExtensionView, ...]
    notes: tuple[NoteView, ...]
    replies: tuple[ReplyView, ...]
    surveys: tuple[SurveyView, ...]
    events: tuple[EventView, ...]
    allowed: tuple[Action, ...]
    main: CaseView | None = None  # 并单: the case this one is merged into
    merged: tuple[CaseView, ...] = ()  # 并单: the cases merged into this one


@dataclasses.dataclass(frozen=True)
class DeskItem:
    """A case in a list, with the assignment the list is about (the lead's, or mine)."""

    case: CaseView
    assignment: AssignmentView | None


@dataclasses.dataclass(frozen=True)
class Board:
    """The office's lists: to dispatch, returns and extensions to decide, in progress,
    replied or followed up (to follow up or archive)."""

    to_dispatch: tuple[DeskItem, ...]
    returned: tuple[DeskItem, ...]
    extensions: tuple[tuple[ExtensionView, DeskItem], ...]
    working: tuple[DeskItem, ...]
    closing: tuple[DeskItem, ...]


async def case_file(
    sm: Sessions, case_id: int, *, actor: Actor, at: datetime, rules: WorkflowRules
) -> CaseFile:
    """The case's file as `actor` may read it; RecordNotFound when they may not know it."""
    async with sm() as session:
        ctx = await load(session, case_id, actor, at, rules, lock=False)
        allowed = tuple(allowed_actions(actor.party, ctx.situation()))
        view = (await cases.views_in(session, select(Case).where(Case.id == case_id)))[0]
        main_id = ctx.case.merged_into_id
        main = await cases.view_in(session, main_id) if main_id is not None else None
        merged = select(Case).where(Case.merged_into_id == case_id).order_by(Case.id)
        replies = await _rows(session, CaseReply, case_id, ReplyView)
        if main_id is not None:
            replies += await _rows(session, CaseReply, main_id, ReplyView)
        return CaseFile(
            case=view,
            assignments=await _rows(session, CaseAssignment, case_id, AssignmentView),
            extensions=await _rows(session, ExtensionRequest, case_id, ExtensionView),
            notes=await _rows(session, ProgressNote, case_id, NoteView),
            replies=replies,
            surveys=await _rows(session, CaseSurvey, case_id, SurveyView),
            events=await _rows(session, CaseEvent, case_id, EventView),
            allowed=allowed,
            main=main,
            merged=tuple(await cases.views_in(session, merged)),
        )


async def department_desk(sm: Sessions, department: str) -> list[DeskItem]:
    """The department's cases (its latest part in each), open ones by deadline first."""
    query = (
        select(CaseAssignment)
        .where(CaseAssignment.department == department, CaseAssignment.withdrawn_at.is_(None))
        .order_by(CaseAssignment.case_id, CaseAssignment.round)
    )
    async with sm() as session:
        latest = {row.case_id: row for row in await session.scalars(query)}  # last round wins
        found = await cases.views_in(session, select(Case).where(Case.id.in_(latest)))
    items = [DeskItem(case, _view(latest[case.id], AssignmentView)) for case in found]
    items.sort(key=lambda item: (not item.case.is_open, _due(item), item.case.id))
    return items[:DESK_LIMIT]


async def office_board(sm: Sessions) -> Board:
    """The office's lists, each oldest (or most urgent) first."""
    S = CaseStatus
    async with sm() as session:
        pending = select(ExtensionRequest).where(ExtensionRequest.decision.is_(None))
        requests = list(await session.scalars(pending.order_by(ExtensionRequest.requested_at)))
        waiting = await _with_leads(session, [r.case_id for r in requests], None)
        by_id = {item.case.id: item for item in waiting}
        return Board(
            to_dispatch=tuple(await _with_leads(session, None, [S.REGISTERED])),
            returned=tuple(await _with_leads(session, None, [S.RETURNED])),
            extensions=tuple(
                (_view(r, ExtensionView), by_id[r.case_id]) for r in requests if r.case_id in by_id
            ),
            working=tuple(await _with_leads(session, None, [S.DISPATCHED, S.HANDLING])),
            closing=tuple(await _with_leads(session, None, [S.REPLIED, S.FOLLOWED_UP])),
        )


async def _with_leads(
    session: AsyncSession, ids: list[int] | None, statuses: list[CaseStatus] | None
) -> list[DeskItem]:
    lead = and_(
        CaseAssignment.case_id == Case.id,
        CaseAssignment.current.is_(True),
        CaseAssignment.withdrawn_at.is_(None),
        CaseAssignment.role == HandlerRole.LEAD.value,
    )
    query = select(Case, CaseAssignment).outerjoin(CaseAssignment, lead)
    if ids is not None:
        query = query.where(Case.id.in_(ids))
    if statuses is not None:
        query = query.where(Case.status.in_([s.value for s in statuses]))
    query = query.order_by(CaseAssignment.reply_due, Case.created_at, Case.id).limit(BOARD_LIMIT)
    rows = (await session.execute(query)).all()
    counts = await cases.event_counts(session, [case.id for case, _ in rows])
    return [
        DeskItem(
            cases.case_view(case, counts.get(case.id, 0)),
            _view(row, AssignmentView) if row else None,
        )
        for case, row in rows
    ]


async def _rows(session: AsyncSession, model: Any, case_id: int, view: type[V]) -> tuple[V, ...]:
    query = select(model).where(model.case_id == case_id).order_by(model.id)
    return tuple(_view(row, view) for row in await session.scalars(query))


def _view(row: object, view: type[V]) -> V:
    names = [f.name for f in dataclasses.fields(view)]  # type: ignore[arg-type]
    return view(**{name: getattr(row, name) for name in names})


def _due(item: DeskItem) -> datetime:
    assignment = item.assignment
    assert assignment is not None  # a desk lists the department's own parts
    return assignment.reply_due
