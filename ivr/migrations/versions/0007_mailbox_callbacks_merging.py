"""市长信箱 query codes and rate limits, 漏接回拨 attempts, 并单 links between cases.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    # Stored as UTC; ivr.db.models.UtcDateTime adds the zone back on SQLite.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="SET NULL"
    )


def upgrade() -> None:
    """Add cases.query_code_hash and cases.merged_into_id, public_requests, callback_attempts."""
    # batch: SQLite adds a foreign key only by rebuilding the table; PostgreSQL alters in place
    with op.batch_alter_table("cases") as batch:
        batch.add_column(_str("query_code_hash", 64, nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_cases_merged_into_id_cases",
            "cases",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_cases_merged_into_id", ["merged_into_id"])
        # a citizen's look-up finds the case by the code's hash; NULLs never collide
        batch.create_unique_constraint("uq_cases_query_code_hash", ["query_code_hash"])
    op.create_table(
        "public_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        _at("at"),
        _str("client_key", 64),
        _str("action", 16),
        sa.PrimaryKeyConstraint("id", name="pk_public_requests"),
    )
    for column in ("at", "client_key"):
        op.create_index(f"ix_public_requests_{column}", "public_requests", [column])
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        _str("number", 64),
        _str("agent", 64),
        _str("interface", 128),
        _at("started_at"),
        _at("ended_at", nullable=True),
        _str("outcome", 16),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_callback_attempts"),
        _fk("callback_attempts", "call_id", "calls"),
        _fk("callback_attempts", "case_id", "cases"),
    )
    for column in ("call_id", "case_id", "number"):
        op.create_index(f"ix_callback_attempts_{column}", "callback_attempts", [column])


def downgrade() -> None:
    """Drop the call-backs, the public requests and the two case columns."""
    op.drop_table("callback_attempts")
    op.drop_table("public_requests")
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("uq_cases_query_code_hash", type_="unique")
        batch.drop_index("ix_cases_merged_into_id")
        batch.drop_constraint("fk_cases_merged_into_id_cases", type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("query_code_hash")
