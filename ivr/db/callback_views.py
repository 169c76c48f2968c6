"""What the call-back list shows (ivr.db.callbacks): the misses, the cases, the call backs.

Frozen snapshots, not tied to a session, and the queries that read call backs and the reports
(举报) filed from a number, which decide who may see it (ivr.web.callbacks_json).
"""

from __future__ import annotations

import dataclasses
import enum
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.channel_models import CallbackAttempt, CallbackOutcome
from ivr.db.models import Case, CaseStatus, Priority
from ivr.errors import RecordNotFound

# A placed call back whose result never came (the AMI link was down when it ended) stops
# holding the number after this long.
RESULT_WAIT = timedelta(hours=1)
AttemptQuery = Select[CallbackAttempt, Case]


class MissKind(enum.StrEnum):
    """Why a caller is owed a call back."""

    QUEUE = "queue"  # hung up while waiting in the queue
    HUNG_UP = "hung_up"  # hung up while stating the request (the draft is flagged)
    REQUESTED = "requested"  # asked for a call back, or an agent flagged the case


@dataclasses.dataclass(frozen=True)
class CaseBrief:
    """The case drafted for a missed call, as the list shows it."""

    id: int
    number: str | None
    status: CaseStatus
    category: str
    priority: Priority
    summary: str
    whistleblower: bool
    claimed_by: str | None
    # what else identifies a reporter, to redact wherever their number is masked
    caller_name: str | None
    contact_phone: str | None


# A number's reports (举报), for the numbers that have any
Reports = Mapping[str, tuple[CaseBrief, ...]]


@dataclasses.dataclass(frozen=True)
class Miss:
    """One missed call (or a flagged case) owed a call back."""

    kind: MissKind
    at: datetime  # when the call started (the case was drafted, for a flagged case)
    call_id: int | None
    wait_seconds: float | None
    case: CaseBrief | None


@dataclasses.dataclass(frozen=True)
class AttemptView:
    """One call back, as recorded."""

    id: int
    call_id: int | None
    case_id: int | None
    number: str
    agent: str
    interface: str
    started_at: datetime
    ended_at: datetime | None
    outcome: CallbackOutcome
    note: str | None
    case: CaseBrief | None = None

    def in_progress(self, now: datetime) -> bool:
        """Whether the call is still ringing or talking (its result not yet in)."""
        return self.outcome is CallbackOutcome.PLACED and now - self.started_at < RESULT_WAIT


@dataclasses.dataclass(frozen=True)
class CallbackRow:
    """A caller owed a call back: their misses newest first, the call backs since the first."""

    number: str
    misses: tuple[Miss, ...]
    attempts: tuple[AttemptView, ...]  # newest first

    @property
    def gave_up(self) -> int:
        """How many times they hung up before reaching anyone."""
        return sum(1 for miss in self.misses if miss.kind is not MissKind.REQUESTED)

    @property
    def cases(self) -> list[CaseBrief]:
        """The cases of the misses, newest first, each once."""
        found = {miss.case.id: miss.case for miss in self.misses if miss.case is not None}
        return list(found.values())

    def calling(self, now: datetime) -> AttemptView | None:
        """The call back in progress, if any."""
        return next((a for a in self.attempts if a.in_progress(now)), None)


def brief(case: Case | None) -> CaseBrief | None:
    """A loaded case as the list shows it."""
    return None if case is None else brief_of(case)


def brief_of(case: Case) -> CaseBrief:
    """A loaded case as the list shows it."""
    return CaseBrief(
        id=case.id,
        number=case.number,
        status=CaseStatus(case.status),
        category=case.category,
        priority=Priority(case.priority),
        summary=case.summary,
        whistleblower=case.whistleblower,
        claimed_by=case.claimed_by,
        caller_name=case.caller_name,
        contact_phone=case.contact_phone,
    )


@dataclasses.dataclass(frozen=True)
class Callers:
    """What the cases filed from some numbers tell of who calls from them."""

    reports: Reports
    given: Mapping[str, tuple[str, ...]]  # the names and call-back numbers any case gives


async def callers_of(sm: Sessions, numbers: Collection[str]) -> Callers:
    """The reports (举报) ever filed from these numbers, and what their cases name."""
    async with sm() as session:
        return Callers(await reports_in(session, numbers), await _given_in(session, numbers))


async def reports_in(session: AsyncSession, numbers: Collection[str]) -> Reports:
    """The reports (举报) ever filed from these numbers, by number."""
    if not numbers:
        return {}
    query = select(Case).where(Case.whistleblower.is_(True), Case.caller_number.in_(list(numbers)))
    found: defaultdict[str, list[CaseBrief]] = defaultdict(list)
    for case in await session.scalars(query.order_by(Case.id)):
        found[case.caller_number].append(brief_of(case))
    return {number: tuple(reports) for number, reports in found.items()}


async def _given_in(session: AsyncSession, numbers: Collection[str]) -> dict[str, tuple[str, ...]]:
    if not numbers:
        return {}
    query = select(Case.caller_number, Case.caller_name, Case.contact_phone).where(
        Case.caller_number.in_(list(numbers)),
        Case.caller_name.is_not(None) | Case.contact_phone.is_not(None),
    )
    given: defaultdict[str, dict[str, None]] = defaultdict(dict)  # an ordered set per number
    for number, *values in (await session.execute(query.distinct())).all():
        given[number].update(dict.fromkeys(value for value in values if value))
    return {number: tuple(values) for number, values in given.items()}


async def recent_attempts(sm: Sessions, *, since: datetime, limit: int = 50) -> list[AttemptView]:
    """The call backs placed since `since`, newest first."""
    query = attempt_query().where(CallbackAttempt.started_at >= since)
    async with sm() as session:
        return await attempt_views(session, query.limit(limit))


async def get_attempt(sm: Sessions, attempt_id: int) -> AttemptView:
    """One call back; RecordNotFound when there is none."""
    query = attempt_query().where(CallbackAttempt.id == attempt_id)
    async with sm() as session:
        found = await attempt_views(session, query)
    if not found:
        raise RecordNotFound(f"没有编号为 {attempt_id} 的回拨记录")
    return found[0]


async def attempt_in_progress(
    session: AsyncSession, number: str, *, now: datetime
) -> AttemptView | None:
    """A call back to this number still ringing or talking (in the caller's transaction)."""
    query = attempt_query().where(
        CallbackAttempt.number == number,
        CallbackAttempt.outcome == CallbackOutcome.PLACED.value,
        CallbackAttempt.started_at > now - RESULT_WAIT,
    )
    found = await attempt_views(session, query.limit(1))
    return found[0] if found else None


def attempt_query() -> AttemptQuery:
    """Call backs with their cases, newest first."""
    return (
        select(CallbackAttempt, Case)
        .outerjoin(Case, Case.id == CallbackAttempt.case_id)
        .order_by(CallbackAttempt.started_at.desc(), CallbackAttempt.id.desc())
    )


async def attempt_views(session: AsyncSession, query: AttemptQuery) -> list[AttemptView]:
    """Snapshots of the call backs an `attempt_query` selects."""
    return [
        AttemptView(
            id=attempt.id,
            call_id=attempt.call_id,
            case_id=attempt.case_id,
            number=attempt.number,
            agent=attempt.agent,
            interface=attempt.interface,
            started_at=attempt.started_at,
            ended_at=attempt.ended_at,
            outcome=CallbackOutcome(attempt.outcome),
            note=attempt.note,
            case=brief(case),
        )
        for attempt, case in (await session.execute(query)).all()
    ]
