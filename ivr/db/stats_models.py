"""The statistics' tables (migration 0009): a daily rollup, what it holds, and the indexes the
live queries range-scan on.

- `stats_daily`: additive sums (ivr.stats.figures) per local day and kind:
  `calls` (key '', per desk), `agent` (key: the queue member), `steps` (key: department;
  签收, 回复, 交办, 重办 and 回访 counted on the day they happened), `received` (key: category,
  sub: class) and `due` (key: department; 办结率's due and closed, on the reply_due day).
- `stats_days`: the settled days whose `calls`, `agent` and `steps` rows are complete
  (written once, in the same transaction as their rows).
- `stats_case_marks`: what each case adds to `received` and `due` as of its last change, so a
  case that changes (registered late, re-classified, closed, reopened, extended, merged) is
  taken out of its old row and into its new one: those two kinds are kept up to date.
- `stats_state`: the rollup's settings fingerprint and how far the case marks have read.

The indexes belong to tables defined elsewhere (ivr.db.models, ivr.db.workflow_models);
declaring them here keeps those modules untouched.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ivr.db.models import Base, Case
from ivr.db.workflow_models import CaseAssignment, CaseSurvey

STATS_INDEXES = (
    Index("ix_cases_created_at", Case.created_at),
    Index("ix_cases_updated_at", Case.updated_at, Case.id),
    Index("ix_case_assignments_dispatched_at", CaseAssignment.dispatched_at),
    Index("ix_case_assignments_accepted_at", CaseAssignment.accepted_at),
    Index("ix_case_assignments_replied_at", CaseAssignment.replied_at),
    Index("ix_case_surveys_at", CaseSurvey.at),
)


class StatsDaily(Base):
    """One day's sums of one kind and key (see the module)."""

    __tablename__ = "stats_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    sub: Mapped[str] = mapped_column(String(16), primary_key=True)
    leader: Mapped[bool] = mapped_column(primary_key=True)
    offered: Mapped[int] = mapped_column(default=0)
    answered: Mapped[int] = mapped_column(default=0)
    answered_within: Mapped[int] = mapped_column(default=0)
    abandoned: Mapped[int] = mapped_column(default=0)
    wait_total: Mapped[float] = mapped_column(default=0.0)
    talked: Mapped[int] = mapped_column(default=0)
    talk_total: Mapped[float] = mapped_column(default=0.0)
    received: Mapped[int] = mapped_column(default=0)
    dispatched: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    accepted_on_time: Mapped[int] = mapped_column(default=0)
    replied: Mapped[int] = mapped_column(default=0)
    replied_on_time: Mapped[int] = mapped_column(default=0)
    due: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    surveyed: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    reworked: Mapped[int] = mapped_column(default=0)


class StatsDay(Base):
    """A settled day whose calls, agent and steps rows are in `stats_daily`."""

    __tablename__ = "stats_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    rolled_at: Mapped[datetime]


class StatsCaseMark(Base):
    """What one case adds to the `received` and `due` rows, as last seen."""

    __tablename__ = "stats_case_marks"

    # no foreign key: a mark must outlive nothing, and cases are never deleted
    case_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_day: Mapped[date]
    category: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16))
    leader: Mapped[bool]
    received: Mapped[bool]
    due_day: Mapped[date | None]
    due_department: Mapped[str | None] = mapped_column(String(128))
    closed: Mapped[bool]


class StatsState(Base):
    """A named value of the rollup's bookkeeping."""

    __tablename__ = "stats_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    text: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime | None]
    number: Mapped[int | None]
