"""What every workflow move starts from: the case locked, its current assignments, the
actor's own assignment, and the pure `Situation` the transition rules decide on.

The case row is locked FOR UPDATE first (PostgreSQL; SQLite's immediate transactions
serialize writers anyway), so two offices acting on one case at once are taken one after
the other and the second sees what the first did. A department that has no part in the
case gets RecordNotFound, exactly as for a case that does not exist.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.cases import CaseView, lock_case, view_in
from ivr.db.duty_models import HolidayRecord
from ivr.db.models import Case, CaseEvent, CaseEventKind, CaseStatus
from ivr.db.users import UserView
from ivr.db.workflow_models import CaseAssignment, ExtensionRequest, HandlerRole
from ivr.duty.holidays import HolidayCalendar, HolidayKind
from ivr.errors import RecordNotFound
from ivr.workflow.calendar import WorkCalendar
from ivr.workflow.rules import WorkflowRules
from ivr.workflow.transitions import Action, Desk, Party, Situation, require

# The follow-up call (回访) acts as this user in the audit trail.
SYSTEM_USERNAME = "system"


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who acts: a username, as which party, and for which department."""

    username: str
    party: Party
    department: str | None = None

    @classmethod
    def of(cls, user: UserView) -> Actor:
        """A console user as a workflow actor."""
        return cls(user.username, Party.of(user.role), user.department)

    @classmethod
    def system(cls, username: str = SYSTEM_USERNAME) -> Actor:
        """The system itself (the follow-up call)."""
        return cls(username, Party.SYSTEM)


@dataclasses.dataclass
class Context:
    """A case being worked on inside one transaction."""

    session: AsyncSession
    case: Case
    actor: Actor
    at: datetime
    rules: WorkflowRules
    current: list[CaseAssignment]  # the latest round's rows, lead first
    desk: CaseAssignment | None  # the actor's department's row among them
    pending: ExtensionRequest | None
    extensions_asked: int  # requests made on the actor's row

    @property
    def lead(self) -> CaseAssignment | None:
        """The current lead department's assignment."""
        return next((a for a in self.current if a.role == HandlerRole.LEAD), None)

    @property
    def status(self) -> CaseStatus:
        """The case's status."""
        return CaseStatus(self.case.status)

    def situation(self) -> Situation:
        """What the transition rules need to know."""
        lead = self.lead
        return Situation(
            status=self.status,
            now=self.at,
            desk=self._desk(),
            lead_accepted=lead is not None and lead.accepted_at is not None,
            extension_pending=self.pending is not None,
            agents_may_dispatch=self.rules.agents_may_dispatch,
            zone=self.rules.zone,
        )

    def require(self, action: Action) -> None:
        """ActionRefused unless the actor may take `action` now."""
        require(action, self.actor.party, self.situation())

    async def calendar(self) -> WorkCalendar:
        """The working calendar, with the office's holiday list as it is now."""
        return self.rules.calendar(await holiday_calendar(self.session))

    async def view(self) -> CaseView:
        """The case as the move leaves it, read inside the move's transaction."""
        return await view_in(self.session, self.case.id)

    def record(
        self,
        kind: CaseEventKind,
        *,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
        note: str | None = None,
    ) -> None:
        """The move's audit entry; touching the case bumps its version for every reader."""
        self.record_on(self.case, kind, before=before, after=after, note=note)

    def record_on(
        self,
        case: Case,
        kind: CaseEventKind,
        *,
        before: Mapping[str, object] | None = None,
        after: Mapping[str, object] | None = None,
        note: str | None = None,
    ) -> None:
        """An audit entry of the move on `case`, which may be another case it changes (并单)."""
        case.updated_at = self.at
        self.session.add(
            CaseEvent(
                case_id=case.id,
                at=self.at,
                actor=self.actor.username,
                kind=kind.value,
                before=plain(before),
                after=plain(after),
                note=note,
            )
        )

    def _desk(self) -> Desk | None:
        row = self.desk
        if row is None:
            return None
        return Desk(
            lead=row.role == HandlerRole.LEAD,
            accepted=row.accepted_at is not None,
            returned=row.returned_at is not None,
            return_until=row.return_until,
            reply_due=row.reply_due,
            extension_asked=self.extensions_asked >= self.rules.policy.extensions_allowed,
        )


async def load(
    session: AsyncSession,
    case_id: int,
    actor: Actor,
    at: datetime,
    rules: WorkflowRules,
    *,
    lock: bool = True,
) -> Context:
    """The case (locked unless `lock` is False) and everything a move decides on."""
    case = await lock_case(session, case_id) if lock else await session.get(Case, case_id)
    if case is None or not await visible(session, case_id, actor):
        raise RecordNotFound(f"no case {case_id}")
    current = await current_assignments(session, case_id)
    desk = None
    if actor.party is Party.DEPARTMENT:
        desk = next((a for a in current if a.department == actor.department), None)
    pending = await session.scalar(
        select(ExtensionRequest).where(
            ExtensionRequest.case_id == case_id, ExtensionRequest.decision.is_(None)
        )
    )
    asked = 0
    if desk is not None:
        count = select(func.count(ExtensionRequest.id))
        asked = await session.scalar(count.where(ExtensionRequest.assignment_id == desk.id)) or 0
    return Context(session, case, actor, at, rules, current, desk, pending, asked)


@contextlib.asynccontextmanager
async def taking(
    sm: Sessions, case_id: int, action: Action, actor: Actor, at: datetime, rules: WorkflowRules
) -> AsyncIterator[Context]:
    """One move's transaction: the case loaded and locked, `action` allowed to the actor.

    A refusal raised here or in the block rolls the whole move back.
    """
    async with sm.begin() as session:
        ctx = await load(session, case_id, actor, at, rules)
        ctx.require(action)
        yield ctx


async def visible(session: AsyncSession, case_id: int, actor: Actor) -> bool:
    """Whether the actor may know the case exists: a department only when it has a part."""
    if actor.party is not Party.DEPARTMENT:
        return True
    query = select(CaseAssignment.id).where(
        CaseAssignment.case_id == case_id,
        CaseAssignment.department == actor.department,
        CaseAssignment.withdrawn_at.is_(None),
    )
    return await session.scalar(query.limit(1)) is not None


async def current_assignments(session: AsyncSession, case_id: int) -> list[CaseAssignment]:
    """The latest round's assignments still in force, lead first."""
    query = select(CaseAssignment).where(
        CaseAssignment.case_id == case_id,
        CaseAssignment.current.is_(True),
        CaseAssignment.withdrawn_at.is_(None),
    )
    rows = await session.scalars(query.order_by(CaseAssignment.id))
    return sorted(rows, key=lambda row: row.role != HandlerRole.LEAD)


async def last_round(session: AsyncSession, case_id: int) -> int:
    """The number of the case's latest round (0 before its first dispatch)."""
    query = select(func.max(CaseAssignment.round)).where(CaseAssignment.case_id == case_id)
    return await session.scalar(query) or 0


async def holiday_calendar(session: AsyncSession) -> HolidayCalendar:
    """The office's holiday list (the duty schedule's), as working days.

    The list is a few dozen days a year, so all of it is read: a deadline may run weeks
    ahead and an overdue count weeks back.
    """
    rows = (await session.execute(select(HolidayRecord.day, HolidayRecord.kind))).all()
    return HolidayCalendar(
        holidays=frozenset(day for day, kind in rows if kind == HolidayKind.HOLIDAY),
        workdays=frozenset(day for day, kind in rows if kind == HolidayKind.WORKDAY),
    )


def plain(values: Mapping[str, object] | None) -> dict[str, Any] | None:
    """Values as JSON can hold them: times and dates as ISO text, tuples as lists."""
    if values is None:
        return None
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value
