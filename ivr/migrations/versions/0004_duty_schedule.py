"""The leader-on-duty schedule: leaders, duty shifts, the holiday list, the audit log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str) -> sa.Column[object]:
    # Stored as UTC; ivr.db.models.UtcDateTime adds the zone back on SQLite.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _str(name: str, length: int) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=False)


def _id(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    """Create the leaders, duty_shifts, holidays and schedule_audit tables."""
    op.create_table(
        "leaders",
        *_id("leaders"),
        _str("name", 64),
        _str("title", 64),
        sa.Column("endpoints", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.UniqueConstraint("name", name="uq_leaders_name"),
    )
    op.create_table(
        "duty_shifts",
        *_id("duty_shifts"),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        _at("starts_at"),
        _at("ends_at"),
        sa.Column("note", sa.Text(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.ForeignKeyConstraint(
            ["leader_id"],
            ["leaders.id"],
            name="fk_duty_shifts_leader_id_leaders",
            ondelete="RESTRICT",
        ),
    )
    for column in ("leader_id", "starts_at", "ends_at"):
        op.create_index(f"ix_duty_shifts_{column}", "duty_shifts", [column])
    op.create_table(
        "holidays",
        sa.Column("day", sa.Date(), nullable=False),
        _str("name", 64),
        _str("kind", 16),
        sa.PrimaryKeyConstraint("day", name="pk_holidays"),
    )
    op.create_table(
        "schedule_audit",
        *_id("schedule_audit"),
        _at("at"),
        _str("actor", 64),
        _str("entity", 16),
        _str("entity_id", 32),
        _str("action", 16),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
    )
    op.create_index("ix_schedule_audit_at", "schedule_audit", ["at"])


def downgrade() -> None:
    """Drop the schedule (the audit log goes with it)."""
    for table in ("schedule_audit", "holidays", "duty_shifts", "leaders"):  # dependents first
        op.drop_table(table)
