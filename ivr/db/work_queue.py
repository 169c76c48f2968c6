"""The agents' work queue: drafts no one is working on, most urgent and oldest first.

A draft waits here when its call is over (abandoned, or it reached the queue while the ivr
server was down) or it never had one (the mailbox): a draft whose caller is still in the
queue or talking, or that is on an agent's screen, belongs to that agent instead.

An agent claims one draft at a time; the claim and its audit entry are one transaction.
No two agents can claim the same draft, on either backend:

- PostgreSQL: the case row is locked (FOR UPDATE) before its claim is checked, so a second
  claimer waits and then sees the first one's claim; `claim_next` skips rows other
  transactions have locked (SKIP LOCKED), so concurrent agents take different drafts without
  queueing behind each other. Each agent's claims are also serialised by a transaction-level
  advisory lock on the username, so two tabs of one agent cannot each take a draft.
- SQLite: every transaction begins IMMEDIATE (ivr.db.engine), taking the database's single
  write lock before its first read, so a claim reads and writes with no other writer in
  between: one claim, then the next, each seeing the last.

On both, the claim is an ORM update of a versioned row (`UPDATE ... WHERE version = <read>`
with the row count checked): a change slipped in between would fail the claim (StaleDataError)
instead of overwriting it. Registration takes a draft out of the queue by its status; the
claim stays on the registered case as a record of who worked it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy import case as case_when
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.cases import CaseView, get_case, lock_case
from ivr.db.console_models import ScreenPop
from ivr.db.models import Call, Case, CaseChannel, CaseEvent, CaseEventKind, CaseStatus, Priority
from ivr.errors import ClaimConflict, ValidationError

EXCERPT_CHARS = 80
# The first key of the two-key advisory locks taken per agent (any fixed 32-bit number).
_CLAIM_LOCK_SPACE = 12345_02
_URGENCY = case_when(
    {Priority.URGENT.value: 0, Priority.IMPORTANT.value: 1}, value=Case.priority, else_=2
)
_QUEUE_ORDER = (_URGENCY, Case.created_at, Case.id)


@dataclasses.dataclass(frozen=True)
class QueueItem:
    """A waiting draft as the queue lists it (the transcript cut to an excerpt)."""

    id: int
    created_at: datetime
    channel: CaseChannel
    caller_number: str
    category: str
    priority: Priority
    summary: str
    abandoned: bool
    needs_callback: bool
    whistleblower: bool
    excerpt: str


@dataclasses.dataclass(frozen=True)
class WaitingList:
    """The first waiting drafts, in queue order, and how many wait in all."""

    waiting: int
    items: tuple[QueueItem, ...]


async def list_waiting(sm: Sessions, *, limit: int = 50) -> WaitingList:
    """The drafts waiting for an agent, most urgent first, oldest first within a priority."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    # One statement for the rows and the total, so the two always agree.
    total = func.count().over().label("waiting")
    query = select(Case, total).where(*_waiting()).order_by(*_QUEUE_ORDER).limit(limit)
    async with sm() as session:
        rows = (await session.execute(query)).all()
    items = tuple(item_of(case) for case, _ in rows)
    return WaitingList(waiting=rows[0].waiting if rows else 0, items=items)


async def claim(sm: Sessions, case_id: int, username: str, *, at: datetime) -> CaseView:
    """Claim a waiting draft for this agent (again, harmlessly, if it is theirs already)."""
    async with sm.begin() as session:
        await _lock_agent(session, username)
        case = await lock_case(session, case_id)
        if case.claimed_by != username or case.status != CaseStatus.DRAFT:
            await _claim_locked(session, case, username, at)
    return await get_case(sm, case_id)


async def claim_next(sm: Sessions, username: str, *, at: datetime) -> CaseView | None:
    """Claim the most urgent, oldest waiting draft; None when nothing waits."""
    async with sm.begin() as session:
        await _lock_agent(session, username)
        await _check_free_hand(session, username)
        # SKIP LOCKED (PostgreSQL; SQLite has no row locks and needs none): a draft another
        # agent is claiming right now is passed over, not waited for. A draft locked by a
        # release or a registration is skipped too: at worst "empty" for that instant.
        query = select(Case).where(*_waiting()).order_by(*_QUEUE_ORDER).limit(1)
        case = await session.scalar(query.with_for_update(skip_locked=True, of=Case))
        if case is None:
            return None
        _take(session, case, username, at)
        case_id = case.id
    return await get_case(sm, case_id)


async def release(sm: Sessions, case_id: int, username: str, *, at: datetime) -> CaseView:
    """Give a claimed draft back to the queue (nothing to do if no one holds it)."""
    async with sm.begin() as session:
        case = await lock_case(session, case_id)
        if case.status != CaseStatus.DRAFT:
            raise ValidationError(f"case {case_id} is already {case.status}: nothing to release")
        if case.claimed_by not in (None, username):
            raise ClaimConflict(f"case {case_id} is claimed by {case.claimed_by}, not by you")
        if case.claimed_by == username:
            case.claimed_by, case.claimed_at = None, None
            session.add(_claim_event(case_id, CaseEventKind.RELEASED, username, at))
    return await get_case(sm, case_id)


async def claimed_by(sm: Sessions, username: str) -> CaseView | None:
    """The draft this agent holds, or None."""
    async with sm() as session:
        case_id = await session.scalar(_held(username))
    return None if case_id is None else await get_case(sm, case_id)


def item_of(case: Case | CaseView) -> QueueItem:
    """A case as a queue item."""
    return QueueItem(
        id=case.id,
        created_at=case.created_at,
        channel=CaseChannel(case.channel),
        caller_number=case.caller_number,
        category=case.category,
        priority=Priority(case.priority),
        summary=case.summary,
        abandoned=case.abandoned,
        needs_callback=case.needs_callback,
        whistleblower=case.whistleblower,
        excerpt=excerpt(case.transcript),
    )


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a text on one line, at most `limit` characters (… when cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _waiting() -> list[ColumnElement[bool]]:
    on_screen = select(ScreenPop.id).where(
        ScreenPop.case_id == Case.id, ScreenPop.closed_at.is_(None)
    )
    live_call = select(Call.id).where(Call.case_id == Case.id, Call.ended_at.is_(None))
    return [
        Case.status == CaseStatus.DRAFT.value,
        Case.claimed_by.is_(None),
        ~on_screen.exists(),
        ~live_call.exists(),
    ]


def _held(username: str) -> Select[int]:
    # Only a draft counts: once registered, the agent's hands are free for the next one.
    query = select(Case.id).where(
        Case.claimed_by == username, Case.status == CaseStatus.DRAFT.value
    )
    return query.order_by(Case.id).limit(1)


async def _is_waiting(session: AsyncSession, case_id: int) -> bool:
    found = await session.scalar(select(Case.id).where(Case.id == case_id, *_waiting()))
    return found is not None


async def _lock_agent(session: AsyncSession, username: str) -> None:
    # Serialises one agent's claims until commit (two tabs claiming at once); SQLite's
    # immediate transactions already serialise everything.
    if session.get_bind().dialect.name == "postgresql":
        key = func.hashtext(username)
        await session.execute(select(func.pg_advisory_xact_lock(_CLAIM_LOCK_SPACE, key)))


async def _claim_locked(session: AsyncSession, case: Case, username: str, at: datetime) -> None:
    if case.status != CaseStatus.DRAFT:
        raise ValidationError(f"case {case.id} is already {case.status}, not a draft to claim")
    if case.claimed_by is not None:
        raise ClaimConflict(f"case {case.id} is already claimed by {case.claimed_by}")
    if not await _is_waiting(session, case.id):
        raise ValidationError(
            f"case {case.id} is not waiting: its call is still live or it is on a screen"
        )
    await _check_free_hand(session, username)
    _take(session, case, username, at)


async def _check_free_hand(session: AsyncSession, username: str) -> None:
    held = await session.scalar(_held(username))
    if held is not None:
        raise ClaimConflict(
            f"you already hold case {held}: register or release it before taking another"
        )


def _take(session: AsyncSession, case: Case, username: str, at: datetime) -> None:
    case.claimed_by, case.claimed_at = username, at
    session.add(_claim_event(case.id, CaseEventKind.CLAIMED, username, at))


def _claim_event(case_id: int, kind: CaseEventKind, username: str, at: datetime) -> CaseEvent:
    before, after = (None, username) if kind is CaseEventKind.CLAIMED else (username, None)
    return CaseEvent(
        case_id=case_id,
        at=at,
        actor=username,
        kind=kind.value,
        before={"claimed_by": before},
        after={"claimed_by": after},
    )
