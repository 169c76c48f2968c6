"""The statistics' live SQL: each figure of `ivr.stats.figures` summed by the database over a
span of time, grouped by local day (or hour) in the service time zone and by desk, agent,
department, category and class. Both backends, the same numbers.

Every query is a range scan on an indexed instant (`calls.queue_joined_at`,
`cases.created_at`, the assignments' `dispatched_at` / `accepted_at` / `replied_at` /
`reply_due`, `case_surveys.at`), so a day reads a day's rows. Long periods read most days
from the rollup (ivr.db.stats_rollup) and come here only for the days it lacks.

On SQLite every transaction starts with BEGIN IMMEDIATE (ivr.db.engine: writers queue rather
than fail), which would keep the AMI event recorders waiting while the figures are summed.
The statistics only read: `reading` swaps that transaction for a deferred one, a WAL
snapshot that holds no lock writers need; on PostgreSQL it is REPEATABLE READ, so all the
session's queries see one moment.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from ivr.db import stats_sql
from ivr.db.calls import Sessions
from ivr.db.console_models import User
from ivr.db.models import Call, Case, CaseStatus
from ivr.db.wallboard import ANSWER_THRESHOLD_SECONDS
from ivr.db.workflow_models import AssignmentKind, CaseAssignment, CaseSurvey, HandlerRole
from ivr.stats.digest import BucketKey
from ivr.stats.figures import CallSums, CaseSums

CLOSED = (CaseStatus.FOLLOWED_UP.value, CaseStatus.ARCHIVED.value)
CONTENT = ("satisfied", "basically_satisfied")  # 满意 + 基本满意
LEAD = HandlerRole.LEAD.value
DeskKey = tuple[BucketKey, bool]
ReceivedKey = tuple[BucketKey, str, str, bool]
DepartmentKey = tuple[str | None, bool]


@dataclasses.dataclass(frozen=True)
class Scope:
    """What a query covers: UTC instants [start, end), bucketed in `zone`."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    hours: bool = False  # buckets are local hours, not days
    leader_queue: str = "leader-desk"
    threshold: float = ANSWER_THRESHOLD_SECONDS

    def within(self, column: Any) -> ColumnElement[bool]:
        """The instant lies in the scope."""
        return and_(column >= self.start, column < self.end)


@contextlib.asynccontextmanager
async def reading(sm: Sessions) -> AsyncIterator[AsyncSession]:
    """A session for long reads that never holds SQLite's write lock (see the module)."""
    async with sm() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        else:
            connection = await session.connection()
            await connection.exec_driver_sql("COMMIT")  # ends BEGIN IMMEDIATE
            await connection.exec_driver_sql("BEGIN")  # a deferred read snapshot
        yield session


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _bucket(session: AsyncSession, column: Any, scope: Scope) -> ColumnElement[object]:
    pieces = stats_sql.offset_pieces(scope.zone, scope.start, scope.end)
    return stats_sql.day_expression(
        _dialect(session), column, scope.zone, pieces, hours=scope.hours
    ).label("bucket")


def _call_columns(dialect: str, threshold: float) -> list[ColumnElement[Any]]:
    answered = stats_sql.answered()
    talked = and_(answered, Call.talk_seconds.is_not(None))
    return [
        func.count().label("offered"),
        stats_sql.count_if(answered).label("answered"),
        stats_sql.count_if(stats_sql.within(dialect, threshold)).label("answered_within"),
        stats_sql.count_if(stats_sql.abandoned()).label("abandoned"),
        func.coalesce(func.sum(stats_sql.wait(dialect)), 0.0).label("wait_total"),
        stats_sql.count_if(talked).label("talked"),
        stats_sql.sum_if(talked, Call.talk_seconds).label("talk_total"),
    ]


def call_sums(row: Any) -> CallSums:
    """The CallSums of a row that has their columns."""
    return CallSums(**{f.name: getattr(row, f.name) for f in dataclasses.fields(CallSums)})


def case_sums(row: Any, names: tuple[str, ...]) -> CaseSums:
    """A CaseSums with `names` taken from a row of the same-named columns."""
    return CaseSums(**{name: getattr(row, name) for name in names})


async def calls_by_bucket(session: AsyncSession, scope: Scope) -> dict[DeskKey, CallSums]:
    """Queue calls that joined in the scope, by bucket and desk (the leader's or not)."""
    bucket = _bucket(session, Call.queue_joined_at, scope)
    desk = Call.queue == literal(scope.leader_queue, literal_execute=True)
    leader = func.coalesce(desk, False).label("leader")
    query = (
        select(bucket, leader, *_call_columns(_dialect(session), scope.threshold))
        .where(scope.within(Call.queue_joined_at))
        .group_by(bucket, leader)
    )
    return {
        (stats_sql.bucket_key(r.bucket, scope.hours), bool(r.leader)): call_sums(r)
        for r in await session.execute(query)
    }


async def calls_by_agent(session: AsyncSession, scope: Scope) -> dict[str, CallSums]:
    """Answered queue calls that joined in the scope, by the agent who answered ('': unknown)."""
    query = (
        select(Call.agent, *_call_columns(_dialect(session), scope.threshold))
        .where(scope.within(Call.queue_joined_at), stats_sql.answered())
        .group_by(Call.agent)
    )
    return {r.agent or "": call_sums(r) for r in await session.execute(query)}


async def agent_names(session: AsyncSession, interfaces: list[str]) -> dict[str, str]:
    """The display names of the logins behind these queue members."""
    query = select(User.interface, User.display_name, User.active).where(
        User.interface.in_(interfaces)
    )
    names: dict[str, str] = {}
    # an active login's name wins over a disabled one's for the same phone
    for interface, name, _active in sorted(await session.execute(query), key=lambda r: r[2]):
        if interface is not None:
            names[interface] = name
    return names


async def received(session: AsyncSession, scope: Scope) -> dict[ReceivedKey, int]:
    """Cases received in the scope, by bucket, category, class and leader's."""
    bucket = _bucket(session, Case.created_at, scope)
    query = (
        select(bucket, Case.category, Case.priority, Case.leader_handled, func.count())
        .where(scope.within(Case.created_at), Case.status != CaseStatus.DRAFT.value)
        .group_by(bucket, Case.category, Case.priority, Case.leader_handled)
    )
    return {
        (stats_sql.bucket_key(b, scope.hours), category, priority, bool(leader)): count
        for b, category, priority, leader, count in await session.execute(query)
    }


async def steps(session: AsyncSession, scope: Scope) -> dict[DepartmentKey, CaseSums]:
    """签收, 回复, 交办, 重办 and 回访 that happened in the scope, by department and leader's."""
    return await _summed(session, _step_queries(scope))


async def due(session: AsyncSession, scope: Scope) -> dict[DepartmentKey, CaseSums]:
    """办结率's cases due in the scope and those of them closed, by department and leader's."""
    a = CaseAssignment
    query = _by_department(
        func.count().label("due"), stats_sql.count_if(Case.status.in_(CLOSED)).label("closed")
    ).where(
        a.role == LEAD,
        a.current.is_(True),
        a.withdrawn_at.is_(None),
        Case.status != CaseStatus.MERGED.value,
        scope.within(a.reply_due),
    )
    return await _summed(session, [(query, ("due", "closed"))])


async def _summed(
    session: AsyncSession, queries: list[tuple[Select[*tuple[Any, ...]], tuple[str, ...]]]
) -> dict[DepartmentKey, CaseSums]:
    parts: dict[DepartmentKey, CaseSums] = {}
    for query, names in queries:
        for row in await session.execute(query):
            key = (row.department, bool(row.leader))
            parts[key] = parts.get(key, CaseSums()) + case_sums(row, names)
    return parts


def _by_department(*columns: ColumnElement[Any]) -> Select[*tuple[Any, ...]]:
    return (
        select(
            CaseAssignment.department.label("department"),
            Case.leader_handled.label("leader"),
            *columns,
        )
        .join(Case, Case.id == CaseAssignment.case_id)
        .group_by(CaseAssignment.department, Case.leader_handled)
    )


def _step_queries(scope: Scope) -> list[tuple[Select[*tuple[Any, ...]], tuple[str, ...]]]:
    a, count_if = CaseAssignment, stats_sql.count_if
    lead = a.role == LEAD
    accepted = _by_department(
        func.count().label("accepted"),
        count_if(a.accepted_at <= a.accept_due).label("accepted_on_time"),
    ).where(scope.within(a.accepted_at))
    replied = _by_department(
        func.count().label("replied"),
        count_if(a.replied_at <= a.reply_due).label("replied_on_time"),
    ).where(lead, scope.within(a.replied_at))
    is_rework = a.kind == AssignmentKind.REWORK.value
    dispatched = _by_department(
        count_if(~is_rework).label("dispatched"), count_if(is_rework).label("reworked")
    ).where(lead, scope.within(a.dispatched_at))
    return [
        (accepted, ("accepted", "accepted_on_time")),
        (replied, ("replied", "replied_on_time")),
        (dispatched, ("dispatched", "reworked")),
        (_surveys(scope), ("surveyed", "satisfied", "resolved")),
    ]


def _surveys(scope: Scope) -> Select[*tuple[Any, ...]]:
    s, a = CaseSurvey, CaseAssignment
    round_lead = and_(a.case_id == s.case_id, a.round == s.round, a.role == LEAD)
    return (
        select(
            a.department.label("department"),
            Case.leader_handled.label("leader"),
            func.count().label("surveyed"),
            stats_sql.count_if(s.satisfaction.in_(CONTENT)).label("satisfied"),
            stats_sql.count_if(s.resolved.is_(True)).label("resolved"),
        )
        .select_from(s)
        .join(Case, Case.id == s.case_id)
        .outerjoin(a, round_lead)
        .where(scope.within(s.at))
        .group_by(a.department, Case.leader_handled)
    )
