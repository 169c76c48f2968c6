"""The cases behind hot-topic alerts, as the alerts page and the 专报 read them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from ivr.db.calls import Sessions
from ivr.db.insight_models import HotTopicAlertCase
from ivr.db.models import Case, CaseStatus

_COLUMNS = (
    Case.id,
    Case.number,
    Case.status,
    Case.created_at,
    Case.category,
    Case.department,
    Case.summary,
    Case.transcript,
    Case.address,
    Case.caller_number,
    Case.caller_name,
    Case.contact_phone,
    Case.whistleblower,
)


@dataclasses.dataclass(frozen=True)
class AlertCase:
    """A case behind an alert (identity fields included: the web layer masks them)."""

    id: int
    number: str | None
    status: CaseStatus
    created_at: datetime
    category: str
    department: str
    summary: str
    transcript: str
    address: str | None
    caller_number: str
    caller_name: str | None
    contact_phone: str | None
    whistleblower: bool


async def alert_cases(sm: Sessions, alert_id: int) -> list[AlertCase]:
    """Every case behind an alert, in the order they came."""
    query = (
        select(*_COLUMNS)
        .join(HotTopicAlertCase, HotTopicAlertCase.case_id == Case.id)
        .where(HotTopicAlertCase.alert_id == alert_id)
        .order_by(Case.created_at, Case.id)
    )
    async with sm() as session:
        return [_case(row) for row in (await session.execute(query)).all()]


async def first_cases(
    sm: Sessions, alert_ids: Sequence[int], *, each: int
) -> dict[int, list[AlertCase]]:
    """The first `each` cases behind each of these alerts."""
    if not alert_ids:
        return {}
    link = HotTopicAlertCase
    rank = (
        func.row_number()
        .over(partition_by=link.alert_id, order_by=(Case.created_at, Case.id))
        .label("rank")
    )
    ranked = (
        select(link.alert_id, *_COLUMNS, rank)
        .join(Case, Case.id == link.case_id)
        .where(link.alert_id.in_(alert_ids))
        .subquery()
    )
    query = select(ranked).where(ranked.c.rank <= each).order_by(ranked.c.alert_id, ranked.c.rank)
    found: dict[int, list[AlertCase]] = {alert_id: [] for alert_id in alert_ids}
    async with sm() as session:
        for row in (await session.execute(query)).all():
            found[row.alert_id].append(_case(row))
    return found


def _case(row: object) -> AlertCase:
    values = {field.name: getattr(row, field.name) for field in dataclasses.fields(AlertCase)}
    values["status"] = CaseStatus(values["status"])
    return AlertCase(**values)
