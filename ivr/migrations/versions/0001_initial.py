"""Initial schema: callers, cases, calls, recordings, case events and case number counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    # Stored as UTC; ivr.db.models.UtcDateTime adds the zone back on SQLite.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _flag(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _id(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    """Create every table of the first release."""
    op.create_table(
        "callers",
        *_id("callers"),
        _str("number", 64),
        _at("first_seen_at"),
        _at("last_call_at"),
        sa.Column("call_count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("number", name="uq_callers_number"),
    )
    op.create_table(
        "case_number_counters",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_case_number_counters"),
    )
    _create_cases()
    _create_calls()
    _create_recordings()
    _create_case_events()


def _create_cases() -> None:
    op.create_table(
        "cases",
        *_id("cases"),
        _str("number", 32, nullable=True),
        _str("status", 16),
        _str("channel", 16),
        _str("caller_number", 64),
        _str("caller_name", 64, nullable=True),
        sa.Column("transcript", sa.Text(), nullable=False),
        _flag("transcript_available"),
        _str("category", 64),
        _str("department", 128),
        _str("priority", 16),
        sa.Column("summary", sa.Text(), nullable=False),
        _str("address", 256, nullable=True),
        _str("contact_phone", 32, nullable=True),
        *map(_flag, ("whistleblower", "abandoned", "needs_callback", "leader_handled")),
        sa.Column("version", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.UniqueConstraint("number", name="uq_cases_number"),
    )
    op.create_index("ix_cases_caller_number", "cases", ["caller_number"])
    op.create_index("ix_cases_status", "cases", ["status"])


def _create_calls() -> None:
    op.create_table(
        "calls",
        *_id("calls"),
        _str("uniqueid", 64),
        _str("channel", 255, nullable=True),
        _str("caller_number", 64, nullable=True),
        _at("started_at"),
        _str("stage", 16),
        _flag("via_fallback"),
        _str("queue", 64, nullable=True),
        _at("queue_joined_at", nullable=True),
        _at("agent_called_at", nullable=True),
        _str("agent", 255, nullable=True),
        _at("answered_at", nullable=True),
        _at("completed_at", nullable=True),
        _str("complete_reason", 32, nullable=True),
        _at("abandoned_at", nullable=True),
        _at("ended_at", nullable=True),
        sa.Column("wait_seconds", sa.Double(), nullable=True),
        sa.Column("talk_seconds", sa.Double(), nullable=True),
        _str("outcome", 16),
        _str("hangup_cause", 64, nullable=True),
        _flag("needs_callback"),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_calls_case_id_cases", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("uniqueid", name="uq_calls_uniqueid"),
    )
    op.create_index("ix_calls_caller_number", "calls", ["caller_number"])
    op.create_index("ix_calls_case_id", "calls", ["case_id"])


def _create_recordings() -> None:
    op.create_table(
        "recordings",
        *_id("recordings"),
        sa.Column("call_id", sa.Integer(), nullable=False),
        _str("path", 512),
        _str("kind", 16),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        _flag("complete"),
        _at("created_at"),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name="fk_recordings_call_id_calls", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("call_id", "path", name="uq_recordings_call_id_path"),
    )


def _create_case_events() -> None:
    op.create_table(
        "case_events",
        *_id("case_events"),
        sa.Column("case_id", sa.Integer(), nullable=False),
        _at("at"),
        _str("actor", 64),
        _str("kind", 32),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_events_case_id_cases", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])


def downgrade() -> None:
    """Drop everything (the data goes with it)."""
    tables = ("case_events", "recordings", "calls", "cases", "case_number_counters", "callers")
    for table in tables:  # dependents first
        op.drop_table(table)
