"""What the urging pages read and the one thing they change: a department's reminders
(催办) and their acknowledgement, the office's supervision list (督办) and notice list
(通报). Snapshots, not tied to a session; masking for the viewer is the web layer's job."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import Select, select

from ivr.db import cases
from ivr.db.calls import Sessions
from ivr.db.cases import CaseView
from ivr.db.models import (
    Case,
    CaseEvent,
    CaseEventKind,
)
from ivr.db.urging import WORKING, open_assignment
from ivr.db.urging_models import CaseReminder
from ivr.db.workflow_models import CaseAssignment
from ivr.db.workflow_state import Actor, holiday_calendar, plain
from ivr.errors import RecordNotFound
from ivr.workflow.calendar import WorkCalendar
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.urging import (
    Level,
    Step,
    kind_of,
    outstanding,
    overdue_working_minutes,
    parse_kind,
)

LIST_LIMIT = 500
Joined = Select[CaseReminder, Case, CaseAssignment]


@dataclasses.dataclass(frozen=True)
class ReminderView:
    """A stored reminder."""

    id: int
    case_id: int
    assignment_id: int
    department: str
    kind: str
    deadline: datetime
    due_at: datetime
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @property
    def step(self) -> Step:
        """The step it is about."""
        return parse_kind(self.kind)[0]

    @property
    def level(self) -> Level:
        """How far the urging had gone."""
        return parse_kind(self.kind)[1]


@dataclasses.dataclass(frozen=True)
class ReminderItem:
    """A reminder in a list, with its case and whether it still stands."""

    reminder: ReminderView
    case: CaseView
    outstanding: bool  # the step is still undone on the same deadline
    overdue_minutes: int  # working minutes late now, while it stands (else 0)


async def department_reminders(
    sm: Sessions, department: str, *, now: datetime, rules: WorkflowRules
) -> list[ReminderItem]:
    """A department's reminders on the cases it still has a part in, unread first."""
    # a part taken back (the case went elsewhere) no longer shows the case to them
    mine = (CaseReminder.department == department, CaseAssignment.withdrawn_at.is_(None))
    return await _listed(sm, _joined().where(*mine), now, rules)


async def all_reminders(
    sm: Sessions, *, department: str | None, now: datetime, rules: WorkflowRules
) -> list[ReminderItem]:
    """For the office: every reminder, or every one a department was sent, unread first."""
    query = _joined()
    if department is not None:
        query = query.where(CaseReminder.department == department)
    return await _listed(sm, query, now, rules)


async def reminder(
    sm: Sessions, reminder_id: int, *, now: datetime, rules: WorkflowRules
) -> ReminderItem:
    """One reminder as it stands; RecordNotFound when there is none."""
    found = await _items(sm, _joined().where(CaseReminder.id == reminder_id), now, rules)
    if not found:
        raise RecordNotFound(f"no reminder {reminder_id}")
    return found[0]


async def supervision_list(
    sm: Sessions, *, now: datetime, rules: WorkflowRules
) -> list[ReminderItem]:
    """督办: cases escalated and still late on that deadline, the longest late first."""
    kinds = [kind_of(step, Level.SUPERVISION) for step in Step]
    query = _joined().where(
        CaseReminder.kind.in_(kinds),
        CaseAssignment.current.is_(True),
        CaseAssignment.withdrawn_at.is_(None),
        Case.status.in_(WORKING),
    )
    found = await _items(sm, query.order_by(CaseReminder.deadline, CaseReminder.id), now, rules)
    return [item for item in found if item.outstanding]


async def notice_list(sm: Sessions, *, now: datetime, rules: WorkflowRules) -> list[ReminderItem]:
    """通报: every notice, the newest first, each marked while the step is still undone."""
    kinds = [kind_of(step, Level.NOTICE) for step in Step]
    query = _joined().where(CaseReminder.kind.in_(kinds))
    order = (CaseReminder.raised_at.desc(), CaseReminder.id.desc())
    return await _items(sm, query.order_by(*order), now, rules)


async def acknowledge(
    sm: Sessions, reminder_id: int, *, actor: Actor, at: datetime
) -> ReminderView:
    """已阅: the department has read its reminder (once; later calls change nothing)."""
    async with sm.begin() as session:
        row = await session.get(CaseReminder, reminder_id, with_for_update=True)
        part = None if row is None else await session.get(CaseAssignment, row.assignment_id)
        if row is None or part is None or not _holds(part, actor):
            raise RecordNotFound(f"no reminder {reminder_id}")
        if row.acknowledged_at is None:
            row.acknowledged_at, row.acknowledged_by = at, actor.username
            session.add(_acknowledged(row, actor, at))
        return _view(row)


def _holds(part: CaseAssignment, actor: Actor) -> bool:
    # the department's own part, not taken back: otherwise it may not know of it
    return part.department == actor.department and part.withdrawn_at is None


async def _listed(
    sm: Sessions, query: Joined, now: datetime, rules: WorkflowRules
) -> list[ReminderItem]:
    order = (CaseReminder.acknowledged_at.is_not(None), CaseReminder.raised_at.desc())
    return await _items(sm, query.order_by(*order, CaseReminder.id.desc()), now, rules)


def _joined() -> Joined:
    return (
        select(CaseReminder, Case, CaseAssignment)
        .join(Case, Case.id == CaseReminder.case_id)
        .join(CaseAssignment, CaseAssignment.id == CaseReminder.assignment_id)
    )


async def _items(
    sm: Sessions, query: Joined, now: datetime, rules: WorkflowRules
) -> list[ReminderItem]:
    async with sm() as session:
        rows = (await session.execute(query.limit(LIST_LIMIT))).all()
        counts = await cases.event_counts(session, {case.id for _, case, _ in rows})
        calendar = rules.calendar(await holiday_calendar(session))
    return [
        _item(reminder, case, part, counts.get(case.id, 0), now, rules, calendar)
        for reminder, case, part in rows
    ]


def _item(
    reminder: CaseReminder,
    case: Case,
    part: CaseAssignment,
    events: int,
    now: datetime,
    rules: WorkflowRules,
    calendar: WorkCalendar,
) -> ReminderItem:
    view = _view(reminder)
    live = None
    if part.current and part.withdrawn_at is None and case.status in WORKING:
        live = open_assignment(part, case, rules.policy, extension_pending=False)
    standing = outstanding(view.step, view.deadline, live)
    late = overdue_working_minutes(calendar, view.deadline, now) if standing else 0
    return ReminderItem(view, cases.case_view(case, events), standing, late)


def _view(row: CaseReminder) -> ReminderView:
    names = [field.name for field in dataclasses.fields(ReminderView)]
    return ReminderView(**{name: getattr(row, name) for name in names})


def _acknowledged(row: CaseReminder, actor: Actor, at: datetime) -> CaseEvent:
    after = {"reminder_id": row.id, "kind": row.kind, "department": row.department}
    return CaseEvent(
        case_id=row.case_id,
        at=at,
        actor=actor.username,
        kind=CaseEventKind.REMINDER_ACKNOWLEDGED.value,
        before=None,
        after=plain(after | {"deadline": row.deadline}),
        note=None,
    )
