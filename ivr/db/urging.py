"""The urging scheduler's reads and writes: the open assignments, and raising reminders.

`open_work` reads what `ivr.workflow.urging.due_reminders` decides on; `raise_reminders`
stores the due reminders, each with its `CaseEvent`, in one transaction per batch. A
reminder is inserted with ON CONFLICT (key) DO NOTHING and audited only when this
insert is the one that stored it, so two schedulers raising the same reminder at once
store it, and audit it, once. Keys are inserted in sorted order: two PostgreSQL
transactions inserting overlapping keys then wait for each other instead of deadlocking.
The case row is not touched (no version bump): a reminder changes nothing about the case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import Select, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.engine import dialect_insert
from ivr.db.models import Case, CaseEvent, CaseStatus
from ivr.db.urging_models import CaseReminder
from ivr.db.workflow_models import CaseAssignment, ExtensionRequest, HandlerRole
from ivr.db.workflow_state import SYSTEM_USERNAME, holiday_calendar
from ivr.duty.holidays import HolidayCalendar
from ivr.workflow.deadlines import DeadlinePolicy
from ivr.workflow.urging import (
    EVENT_KINDS,
    LEVEL_LABELS,
    STEP_LABELS,
    OpenAssignment,
    Reminder,
    accept_counts_minutes,
)

# The statuses in which a department owes the case something.
WORKING = (CaseStatus.DISPATCHED.value, CaseStatus.HANDLING.value)
BATCH = 200
Ts = TypeVarTuple("Ts")


@dataclasses.dataclass(frozen=True)
class OpenWork:
    """What the scheduler decides on: the open assignments, the keys raised, the calendar."""

    assignments: tuple[OpenAssignment, ...]
    raised: frozenset[str]
    days: HolidayCalendar


def open_parts() -> Select[CaseAssignment, Case]:
    """Current assignments of cases being worked on, with their cases."""
    return _open(select(CaseAssignment, Case))


async def open_work(sm: Sessions, policy: DeadlinePolicy) -> OpenWork:
    """The open assignments, the keys of the reminders raised on them, the holiday list."""
    open_ids = _open(select(CaseAssignment.id))
    async with sm() as session:
        rows = (await session.execute(open_parts().order_by(CaseAssignment.id))).all()
        pending = await _pending_extensions(session)
        query = select(CaseReminder.key).where(CaseReminder.assignment_id.in_(open_ids))
        raised = frozenset(await session.scalars(query))
        days = await holiday_calendar(session)
    items = tuple(open_assignment(row, case, policy, row.id in pending) for row, case in rows)
    return OpenWork(items, raised, days)


def _open(query: Select[*Ts]) -> Select[*Ts]:
    return query.join(Case, Case.id == CaseAssignment.case_id).where(
        CaseAssignment.current.is_(True),
        CaseAssignment.withdrawn_at.is_(None),
        Case.status.in_(WORKING),
    )


def open_assignment(
    row: CaseAssignment, case: Case, policy: DeadlinePolicy, extension_pending: bool
) -> OpenAssignment:
    """An assignment row as urging sees it."""
    return OpenAssignment(
        case_id=row.case_id,
        assignment_id=row.id,
        department=row.department,
        lead=row.role == HandlerRole.LEAD,
        dispatched_at=row.dispatched_at,
        accept_due=row.accept_due,
        accept_in_minutes=accept_counts_minutes(
            policy, priority=case.priority, category=case.category
        ),
        accepted=row.accepted_at is not None,
        reply_due=row.reply_due,
        replied=row.replied_at is not None,
        extension_pending=extension_pending,
    )


async def raise_reminders(sm: Sessions, due: Sequence[Reminder], *, now: datetime) -> int:
    """Store the reminders not stored yet, each with its audit entry; how many were new."""
    ordered = sorted(due, key=lambda reminder: reminder.key)
    raised = 0
    for start in range(0, len(ordered), BATCH):
        async with sm.begin() as session:
            for reminder in ordered[start : start + BATCH]:
                raised += await _raise(session, reminder, now)
    return raised


async def _raise(session: AsyncSession, reminder: Reminder, now: datetime) -> int:
    table = CaseReminder.__table__
    stmt = (
        dialect_insert(session, table)
        .values(
            key=reminder.key,
            case_id=reminder.case_id,
            assignment_id=reminder.assignment_id,
            department=reminder.department,
            kind=reminder.kind,
            deadline=reminder.deadline,
            due_at=reminder.due_at,
            raised_at=now,
        )
        .on_conflict_do_nothing(index_elements=[table.c.key])
        .returning(table.c.id)
    )
    reminder_id = (await session.execute(stmt)).scalar_one_or_none()
    if reminder_id is None:
        return 0  # raised already, by an earlier run or another process
    session.add(_event(reminder, reminder_id, now))
    return 1


def _event(reminder: Reminder, reminder_id: int, now: datetime) -> CaseEvent:
    after = {
        "reminder_id": reminder_id,
        "kind": reminder.kind,
        "department": reminder.department,
        "assignment_id": reminder.assignment_id,
        "deadline": reminder.deadline.isoformat(),
    }
    note = f"{STEP_LABELS[reminder.step]}{LEVEL_LABELS[reminder.level]}：{reminder.department}"
    return CaseEvent(
        case_id=reminder.case_id,
        at=now,
        actor=SYSTEM_USERNAME,
        kind=EVENT_KINDS[reminder.level].value,
        before=None,
        after=after,
        note=note,
    )


async def _pending_extensions(session: AsyncSession) -> set[int]:
    # the assignments whose extension request waits for the office
    query = select(ExtensionRequest.assignment_id).join(
        CaseAssignment,
        and_(
            CaseAssignment.id == ExtensionRequest.assignment_id,
            CaseAssignment.current.is_(True),
        ),
    )
    return set(await session.scalars(query.where(ExtensionRequest.decision.is_(None))))
