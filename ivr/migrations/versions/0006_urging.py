"""催办/督办: the database lease the schedulers share, and the reminders they raised.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-19
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    # Stored as UTC; ivr.db.models.UtcDateTime adds the zone back on SQLite.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _int(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    """Create the leases and case_reminders tables."""
    op.create_table(
        "leases",
        _str("name", 64),
        _str("holder", 128),
        _at("expires_at"),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    op.create_table(
        "case_reminders",
        _int("id"),
        _str("key", 160),
        _int("case_id"),
        _int("assignment_id"),
        _str("department", 128),
        _str("kind", 24),
        _at("deadline"),
        _at("due_at"),
        _at("raised_at"),
        _at("acknowledged_at", nullable=True),
        _str("acknowledged_by", 64, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_reminders"),
        sa.UniqueConstraint("key", name="uq_case_reminders_key"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_reminders_case_id_cases", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["case_assignments.id"],
            name="fk_case_reminders_assignment_id_case_assignments",
            ondelete="CASCADE",
        ),
    )
    for column in ("case_id", "assignment_id", "department", "kind"):
        op.create_index(f"ix_case_reminders_{column}", "case_reminders", [column])


def downgrade() -> None:
    """Drop the reminders and the leases."""
    op.drop_table("case_reminders")
    op.drop_table("leases")
