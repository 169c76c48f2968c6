"""Cases (工单): the IVR's draft, the agent's registration (受理) and a caller's history.

Every change is one transaction together with its audit entry. Registration checks the
version the agent edited, so an edit made on stale data is refused instead of overwriting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions, lock_call
from ivr.db.case_fields import DRAFT_FIELDS, EDITABLE_FIELDS, validate_fields
from ivr.db.engine import utcnow
from ivr.db.models import (
    Call,
    Case,
    CaseChannel,
    CaseEvent,
    CaseEventKind,
    CaseStatus,
    Outcome,
    Priority,
    snapshot,
)
from ivr.db.numbering import DEFAULT_TIMEZONE, allocate_case_number
from ivr.errors import RecordNotFound, StaleEdit, ValidationError

_EVENT_COUNT = (
    select(func.count(CaseEvent.id)).where(CaseEvent.case_id == Case.id).scalar_subquery()
)


@dataclasses.dataclass(frozen=True)
class CaseView:
    """A snapshot of a case (not tied to a session); `events` counts its audit entries."""

    id: int
    number: str | None
    status: CaseStatus
    channel: CaseChannel
    caller_number: str
    caller_name: str | None
    transcript: str
    transcript_available: bool
    category: str
    department: str
    priority: Priority
    summary: str
    address: str | None
    contact_phone: str | None
    whistleblower: bool
    abandoned: bool
    needs_callback: bool
    leader_handled: bool
    claimed_by: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    events: int

    @property
    def is_open(self) -> bool:
        """Whether the case still needs work."""
        return self.status.is_open


async def create_draft(
    sm: Sessions,
    *,
    call_uniqueid: str | None,
    caller_number: str,
    transcript: str,
    transcript_available: bool,
    category: str,
    department: str,
    priority: str,
    summary: str,
    address: str | None,
    contact_phone: str | None,
    abandoned: bool = False,
    needs_callback: bool = False,
    actor: str = "ivr",
    channel: str = CaseChannel.PHONE,
    at: datetime | None = None,
) -> int:
    """Draft a case from what the IVR gathered and link its call (one case per call)."""
    fields = validate_fields(
        dict(
            caller_number=caller_number,
            transcript=transcript,
            transcript_available=transcript_available,
            category=category,
            department=department,
            priority=priority,
            summary=summary,
            address=address,
            contact_phone=contact_phone,
            abandoned=abandoned,
            needs_callback=needs_callback,
            channel=channel,
        ),
        DRAFT_FIELDS,
    )
    async with sm.begin() as session:
        return await insert_draft(session, call_uniqueid, fields, actor, at or utcnow())


async def create_blank_draft(sm: Sessions, *, call_uniqueid: str | None, caller_number: str) -> int:
    """A draft with nothing filled in, for an agent to complete (the IVR never ran)."""
    return await create_draft(
        sm,
        call_uniqueid=call_uniqueid,
        caller_number=caller_number,
        transcript="",
        transcript_available=False,
        category="other",
        department="",
        priority="normal",
        summary="",
        address=None,
        contact_phone=None,
    )


async def register_case(
    sm: Sessions,
    case_id: int,
    *,
    actor: str,
    edits: Mapping[str, object],
    expected_version: int,
    at: datetime | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> CaseView:
    """Accept (受理) a draft with the agent's edits: number, version and audit it at once."""
    changes = validate_fields(edits, EDITABLE_FIELDS)
    async with sm.begin() as session:
        await register_in(
            session,
            case_id,
            actor=actor,
            changes=changes,
            expected_version=expected_version,
            at=at or utcnow(),
            timezone=timezone,
        )
        return await view_in(session, case_id)


async def register_in(
    session: AsyncSession,
    case_id: int,
    *,
    actor: str,
    changes: Mapping[str, object],
    expected_version: int,
    at: datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> None:
    """`register_case` inside the caller's transaction, with already validated changes."""
    case = await lock_case(session, case_id)
    if case.version != expected_version:
        raise StaleEdit(
            f"case {case_id} changed since it was loaded (version {expected_version}, "
            f"now {case.version}): reload it and edit again"
        )
    if case.status != CaseStatus.DRAFT:
        raise ValidationError(f"case {case_id} is already {case.status} as {case.number}")
    # Numbered before any attribute changes, so the counter's statement does not
    # autoflush a half-applied edit (which would also bump the version twice).
    number = await allocate_case_number(session, at, timezone)
    before, after = apply_changes(case, changes)
    before.update(status=case.status, number=None)
    case.status, case.number, case.updated_at = CaseStatus.REGISTERED.value, number, at
    case.claimed_by = case.claimed_at = None  # out of the work queue: nobody holds a draft
    after.update(status=case.status, number=case.number)
    kind = CaseEventKind.REGISTERED.value
    session.add(
        CaseEvent(case_id=case_id, at=at, actor=actor, kind=kind, before=before, after=after)
    )
    await session.flush()


async def view_in(session: AsyncSession, case_id: int) -> CaseView:
    """A snapshot of the case inside the caller's transaction."""
    found = await views_in(session, select(Case).where(Case.id == case_id))
    if not found:
        raise RecordNotFound(f"no case {case_id}")
    return found[0]


async def get_case(sm: Sessions, case_id: int) -> CaseView:
    """A snapshot of the case; RecordNotFound when there is none."""
    async with sm() as session:
        found = await views_in(session, select(Case).where(Case.id == case_id))
    if not found:
        raise RecordNotFound(f"no case {case_id}")
    return found[0]


async def caller_history(
    sm: Sessions, caller_number: str, *, limit: int = 10, exclude_case_id: int | None = None
) -> list[CaseView]:
    """This caller's cases, open ones first, newest first within each group."""
    query = select(Case).where(Case.caller_number == caller_number)
    if exclude_case_id is not None:
        query = query.where(Case.id != exclude_case_id)
    archived_last = (Case.status == CaseStatus.ARCHIVED.value).asc()
    query = query.order_by(archived_last, Case.created_at.desc(), Case.id.desc()).limit(limit)
    async with sm() as session:
        return await views_in(session, query)


async def case_for_call(sm: Sessions, uniqueid: str) -> CaseView | None:
    """The case drafted for a call, or None."""
    query = select(Case).join(Call, Call.case_id == Case.id).where(Call.uniqueid == uniqueid)
    async with sm() as session:
        found = await views_in(session, query)
    return found[0] if found else None


async def insert_draft(
    session: AsyncSession,
    call_uniqueid: str | None,
    fields: dict[str, object],
    actor: str,
    at: datetime,
) -> int:
    """`create_draft` inside the caller's transaction, with already validated fields."""
    number = str(fields["caller_number"])
    call = (
        await lock_call(session, call_uniqueid, at=at, caller_number=number)
        if call_uniqueid
        else None
    )
    if call is not None and call.case_id is not None:
        return call.case_id  # the flow retried: the call already has its case
    if call is not None and call.outcome == Outcome.ABANDONED:
        fields.update(abandoned=True, needs_callback=True)  # the caller is already gone
    case = Case(status=CaseStatus.DRAFT.value, created_at=at, updated_at=at, **fields)
    session.add(case)
    await session.flush()
    kind = CaseEventKind.CREATED.value
    session.add(CaseEvent(case_id=case.id, at=at, actor=actor, kind=kind, after=fields))
    if call is not None:
        call.case_id = case.id
    return case.id


async def lock_case(session: AsyncSession, case_id: int) -> Case:
    """The case, locked for update in this transaction; RecordNotFound when there is none."""
    case = await session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise RecordNotFound(f"no case {case_id}")
    return case


def apply_changes(
    case: Case, changes: Mapping[str, object]
) -> tuple[dict[str, object], dict[str, object]]:
    """Set the changed fields; return (before, after) of just those, for the audit entry."""
    before: dict[str, object] = {}
    after: dict[str, object] = {}
    for name, value in changes.items():
        if getattr(case, name) != value:
            before[name], after[name] = getattr(case, name), value
            setattr(case, name, value)
    return before, after


async def views_in(session: AsyncSession, query: Select[Case]) -> list[CaseView]:
    """Snapshots of the cases a query selects, with their audit-entry counts."""
    rows = await session.execute(query.add_columns(_EVENT_COUNT))
    return [case_view(case, events) for case, events in rows]


async def event_counts(session: AsyncSession, ids: Iterable[int]) -> dict[int, int]:
    """Audit entries per case, for cases loaded some other way than `views_in`."""
    wanted = list(ids)
    if not wanted:
        return {}
    query = (
        select(CaseEvent.case_id, func.count(CaseEvent.id))
        .where(CaseEvent.case_id.in_(wanted))
        .group_by(CaseEvent.case_id)
    )
    return {case_id: count for case_id, count in (await session.execute(query)).all()}


def case_view(case: Case, events: int) -> CaseView:
    """A snapshot of a loaded case row."""
    return snapshot(
        CaseView,
        case,
        status=CaseStatus(case.status),
        channel=CaseChannel(case.channel),
        priority=Priority(case.priority),
        events=events,
    )
