"""Screen-pops kept until the agent is done with them, work-queue claims on drafts, and
the index the wallboard's queries need.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    # Stored as UTC; ivr.db.models.UtcDateTime adds the zone back on SQLite.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def upgrade() -> None:
    """Add cases.claimed_by/claimed_at, the screen_pops table, an index for the wallboard."""
    # plain ADD COLUMN: both backends do it in place, no table rebuild
    op.add_column("cases", _str("claimed_by", 64, nullable=True))
    op.add_column("cases", _at("claimed_at", nullable=True))
    op.create_index("ix_cases_claimed_by", "cases", ["claimed_by"])
    op.create_index("ix_calls_queue_joined_at", "calls", ["queue_joined_at"])
    op.create_table(
        "screen_pops",
        sa.Column("id", sa.Integer(), nullable=False),
        _str("username", 64),
        _str("interface", 128),
        sa.Column("case_id", sa.Integer(), nullable=False),
        _str("call_uniqueid", 64),
        _str("state", 16),
        _at("received_at"),
        _at("connected_at", nullable=True),
        _at("ended_at", nullable=True),
        _at("acked_at", nullable=True),
        _at("closed_at", nullable=True),
        _str("close_reason", 16, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_screen_pops"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_screen_pops_case_id_cases", ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "call_uniqueid", "username", name="uq_screen_pops_call_uniqueid_username"
        ),
    )
    for column in ("username", "case_id", "closed_at"):
        op.create_index(f"ix_screen_pops_{column}", "screen_pops", [column])


def downgrade() -> None:
    """Drop the screen-pops and the claims."""
    op.drop_table("screen_pops")
    op.drop_index("ix_calls_queue_joined_at", "calls")
    op.drop_index("ix_cases_claimed_by", "cases")
    with op.batch_alter_table("cases") as batch:  # SQLite drops columns by rebuilding
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
