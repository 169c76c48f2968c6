"""Hot-topic alerts (热点预警): raised once, with the cases behind them; read; acknowledged.

`save_findings` stores what the detector found. A finding that continues an alert already
raised (same kind, the same key or a case in common, and that alert's window reaching the
finding's: see ivr.hotspots.model.Finding) adds its cases to that alert; otherwise a new
alert is inserted with ON CONFLICT (kind, key, window_start) DO NOTHING. The look-up and
the insert are one transaction, and alert writers take turns (SQLite's BEGIN IMMEDIATE, a
transaction advisory lock on PostgreSQL), so two jobs running at once raise an alert once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.db.calls import Sessions
from ivr.db.engine import dialect_insert
from ivr.db.insight_models import AlertKind, AlertState, HotTopicAlert, HotTopicAlertCase
from ivr.errors import RecordNotFound, StaleEdit
from ivr.hotspots.model import Finding

# pg_advisory_xact_lock key of the alert writers ("hot" "topics" as two 4-byte words)
ADVISORY_KEY = 0x686F74_746F7069
STATE_ORDER = (AlertState.OPEN, AlertState.ACKNOWLEDGED, AlertState.CLOSED)
STATE_LABELS = {
    AlertState.OPEN: "待处理",
    AlertState.ACKNOWLEDGED: "已确认",
    AlertState.CLOSED: "已关闭",
}
# which states each move starts from
MOVES = {
    AlertState.ACKNOWLEDGED: (AlertState.OPEN,),
    AlertState.CLOSED: (AlertState.OPEN, AlertState.ACKNOWLEDGED),
}


@dataclasses.dataclass(frozen=True)
class AlertView:
    """An alert as the console shows it."""

    id: int
    kind: str
    key: str
    title: str
    window_start: datetime
    window_end: datetime
    raised_at: datetime
    case_count: int
    baseline: float | None
    details: dict[str, Any]
    state: AlertState
    acknowledged_by: str | None
    acknowledged_at: datetime | None


async def save_findings(sm: Sessions, findings: Iterable[Finding], *, now: datetime) -> int:
    """Raise the new alerts and add cases to continuing ones; how many alerts were new."""
    raised = 0
    for finding in findings:
        async with sm.begin() as session:
            await _take_turn(session)
            raised += await _save(session, finding, now)
    return raised


async def _take_turn(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})


async def _save(session: AsyncSession, finding: Finding, now: datetime) -> int:
    alert_id = await _continued(session, finding)
    new = 0
    if alert_id is None:
        alert_id = await _insert(session, finding, now)
        new = alert_id is not None
        if alert_id is None:  # raised meanwhile with this very window
            alert_id = await _same_window(session, finding)
    await _link(session, alert_id, finding.case_ids)
    if not new:
        await _extend(session, alert_id, finding)
    return int(new)


async def _continued(session: AsyncSession, finding: Finding) -> int | None:
    alert = HotTopicAlert
    query = select(alert.id).where(alert.kind == finding.kind.value)
    if finding.continues_after is None:
        query = query.where(alert.key == finding.key, alert.window_start == finding.window_start)
    else:
        shared = select(HotTopicAlertCase.alert_id).where(
            HotTopicAlertCase.case_id.in_(finding.case_ids)
        )
        query = query.where(
            alert.window_end >= finding.continues_after,
            or_(alert.key == finding.key, alert.id.in_(shared)),
        )
    found: int | None = await session.scalar(query.order_by(alert.raised_at.desc()).limit(1))
    return found


async def _insert(session: AsyncSession, finding: Finding, now: datetime) -> int | None:
    table = HotTopicAlert.__table__
    stmt = (
        dialect_insert(session, table)
        .values(
            kind=finding.kind.value,
            key=finding.key,
            title=finding.title,
            window_start=finding.window_start,
            window_end=finding.window_end,
            raised_at=now,
            case_count=len(set(finding.case_ids)),
            baseline=finding.baseline,
            details=finding.details,
            state=AlertState.OPEN.value,
        )
        .on_conflict_do_nothing(index_elements=[table.c.kind, table.c.key, table.c.window_start])
        .returning(table.c.id)
    )
    found: int | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


async def _same_window(session: AsyncSession, finding: Finding) -> int:
    alert = HotTopicAlert
    query = select(alert.id).where(
        alert.kind == finding.kind.value,
        alert.key == finding.key,
        alert.window_start == finding.window_start,
    )
    return int((await session.execute(query)).scalar_one())


async def _link(session: AsyncSession, alert_id: int, case_ids: Sequence[int]) -> None:
    if not case_ids:
        return
    table = HotTopicAlertCase.__table__
    rows = [{"alert_id": alert_id, "case_id": case_id} for case_id in sorted(set(case_ids))]
    stmt = dialect_insert(session, table).values(rows).on_conflict_do_nothing()
    await session.execute(stmt)


async def _extend(session: AsyncSession, alert_id: int, finding: Finding) -> None:
    linked = (
        select(func.count())
        .select_from(HotTopicAlertCase)
        .where(HotTopicAlertCase.alert_id == alert_id)
        .scalar_subquery()
    )
    alert = HotTopicAlert
    later = case(
        (alert.window_end < finding.window_end, finding.window_end), else_=alert.window_end
    )
    await session.execute(
        update(alert)
        .where(alert.id == alert_id)
        .values(case_count=linked, window_end=later, details=finding.details)
    )


async def list_alerts(
    sm: Sessions,
    *,
    states: Sequence[AlertState] = STATE_ORDER,
    kinds: Sequence[AlertKind] = tuple(AlertKind),
    limit: int = 100,
) -> list[AlertView]:
    """Alerts of these states and kinds: open first, then acknowledged, then closed; newest
    first."""
    alert = HotTopicAlert
    rank = case({s.value: i for i, s in enumerate(STATE_ORDER)}, value=alert.state)
    query = (
        select(alert)
        .where(alert.state.in_([s.value for s in states]), alert.kind.in_([k.value for k in kinds]))
        .order_by(rank, alert.raised_at.desc(), alert.id.desc())
        .limit(limit)
    )
    async with sm() as session:
        return [_view(row) for row in await session.scalars(query)]


async def get_alert(sm: Sessions, alert_id: int) -> AlertView:
    """One alert; RecordNotFound when there is none."""
    async with sm() as session:
        row = await session.get(HotTopicAlert, alert_id)
        if row is None:
            raise RecordNotFound(f"no alert {alert_id}")
        return _view(row)


async def move_alert(
    sm: Sessions, alert_id: int, to: AlertState, *, actor: str, at: datetime
) -> AlertView:
    """Acknowledge or close an alert; StaleEdit when its state no longer allows it."""
    alert = HotTopicAlert
    values: dict[str, Any] = {"state": to.value}
    async with sm.begin() as session:
        current = await session.get(alert, alert_id, with_for_update=True)
        if current is None:
            raise RecordNotFound(f"no alert {alert_id}")
        if AlertState(current.state) not in MOVES[to]:
            raise StaleEdit(f"该预警已是“{STATE_LABELS[AlertState(current.state)]}”状态")
        if current.acknowledged_at is None:  # whoever closes an unread alert has read it
            values |= {"acknowledged_by": actor, "acknowledged_at": at}
        for name, value in values.items():
            setattr(current, name, value)
        await session.flush()
        return _view(current)


async def open_summary(sm: Sessions, *, newest: int = 3) -> tuple[int, list[AlertView]]:
    """How many alerts are open, and the newest of them."""
    alert = HotTopicAlert
    is_open = alert.state == AlertState.OPEN.value
    async with sm() as session:
        count = await session.scalar(select(func.count()).select_from(alert).where(is_open))
        query = select(alert).where(is_open).order_by(alert.raised_at.desc(), alert.id.desc())
        rows = await session.scalars(query.limit(newest))
        return int(count or 0), [_view(row) for row in rows]


def _view(row: HotTopicAlert) -> AlertView:
    return AlertView(
        id=row.id,
        kind=row.kind,
        key=row.key,
        title=row.title,
        window_start=row.window_start,
        window_end=row.window_end,
        raised_at=row.raised_at,
        case_count=row.case_count,
        baseline=row.baseline,
        details=dict(row.details or {}),
        state=AlertState(row.state),
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
    )
