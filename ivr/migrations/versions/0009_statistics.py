"""Statistics: the daily rollup, its bookkeeping, and indexes on the instants the figures are
counted by (ivr.db.stats_models).

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-15
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("cases", ("created_at",)),
    ("cases", ("updated_at", "id")),
    ("case_assignments", ("dispatched_at",)),
    ("case_assignments", ("accepted_at",)),
    ("case_assignments", ("replied_at",)),
    ("case_surveys", ("at",)),
)
COUNTS = [
    *("offered", "answered", "answered_within", "abandoned", "talked", "received"),
    *("dispatched", "accepted", "accepted_on_time", "replied", "replied_on_time", "due"),
    *("closed", "surveyed", "satisfied", "resolved", "reworked"),
]


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _flag(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def upgrade() -> None:
    """Create stats_daily, stats_days, stats_case_marks, stats_state and the indexes."""
    for table, columns in INDEXES:
        op.create_index(f"ix_{table}_{columns[0]}", table, list(columns))
    op.create_table(
        "stats_daily",
        sa.Column("day", sa.Date(), nullable=False),
        _str("kind", 16),
        _str("key", 255),
        _str("sub", 16),
        _flag("leader"),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS[:5]),
        sa.Column("wait_total", sa.Double(), nullable=False),
        sa.Column("talk_total", sa.Double(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS[5:]),
        sa.PrimaryKeyConstraint("day", "kind", "key", "sub", "leader", name="pk_stats_daily"),
    )
    op.create_table(
        "stats_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_stats_days"),
    )
    op.create_table(
        "stats_case_marks",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        _str("category", 64),
        _str("priority", 16),
        _flag("leader"),
        _flag("received"),
        sa.Column("due_day", sa.Date(), nullable=True),
        _str("due_department", 128, nullable=True),
        _flag("closed"),
        sa.PrimaryKeyConstraint("case_id", name="pk_stats_case_marks"),
    )
    op.create_table(
        "stats_state",
        _str("name", 32),
        _str("text", 255, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_stats_state"),
    )


def downgrade() -> None:
    """Drop the statistics tables and indexes."""
    for table in ("stats_state", "stats_case_marks", "stats_days", "stats_daily"):
        op.drop_table(table)
    for table, columns in reversed(INDEXES):
        op.drop_index(f"ix_{table}_{columns[0]}", table_name=table)
