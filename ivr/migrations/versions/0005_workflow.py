"""The case workflow: departments, the dispatch catalogue, assignments with their deadlines,
extension requests, replies, progress notes and follow-up answers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-12
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (  # dependents first, for the downgrade
    "case_surveys",
    "progress_notes",
    "case_replies",
    "extension_requests",
    "case_assignments",
    "dispatch_catalogue",
    "departments",
)


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    # Stored as UTC; ivr.db.models.UtcDateTime adds the zone back on SQLite.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _text(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _int(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), nullable=False)


def _flag(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _id(table: str) -> list[sa.schema.SchemaItem]:
    return [_int("id"), sa.PrimaryKeyConstraint("id", name=f"pk_{table}")]


def _case(table: str) -> list[sa.schema.SchemaItem]:
    # every workflow row goes with its case
    return [
        _int("case_id"),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=f"fk_{table}_case_id_cases", ondelete="CASCADE"
        ),
    ]


def _department_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["department"],
        ["departments.name"],
        name=f"fk_{table}_department_departments",
        ondelete="RESTRICT",
    )


def _assignment_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["assignment_id"],
        ["case_assignments.id"],
        name=f"fk_{table}_assignment_id_case_assignments",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Create the workflow's tables."""
    op.create_table(
        "departments",
        _str("name", 128),
        _flag("active"),
        _at("created_at"),
        _str("created_by", 64),
        sa.PrimaryKeyConstraint("name", name="pk_departments"),
    )
    op.create_table(
        "dispatch_catalogue",
        _str("category", 64),
        _str("department", 128),
        _str("role", 8),
        _at("updated_at"),
        _str("updated_by", 64),
        sa.PrimaryKeyConstraint("category", "department", name="pk_dispatch_catalogue"),
        _department_fk("dispatch_catalogue"),
    )
    _create_assignments()
    _create_extension_requests()
    _create_records()
    for table in ("extension_requests", "case_replies", "progress_notes", "case_surveys"):
        op.create_index(f"ix_{table}_case_id", table, ["case_id"])
    op.create_index("ix_extension_requests_assignment_id", "extension_requests", ["assignment_id"])
    op.create_index("ix_extension_requests_decision", "extension_requests", ["decision"])


def _create_assignments() -> None:
    op.create_table(
        "case_assignments",
        *_id("case_assignments"),
        *_case("case_assignments"),
        _str("department", 128),
        _str("role", 8),
        _int("round"),
        _str("kind", 16),
        _flag("current"),
        _text("instructions", nullable=True),
        _at("dispatched_at"),
        _str("dispatched_by", 64),
        _at("accept_due"),
        _at("reply_due"),
        _at("return_until"),
        _at("accepted_at", nullable=True),
        _str("accepted_by", 64, nullable=True),
        _at("returned_at", nullable=True),
        _str("returned_by", 64, nullable=True),
        _text("return_reason", nullable=True),
        _at("return_rejected_at", nullable=True),
        _at("withdrawn_at", nullable=True),
        _at("replied_at", nullable=True),
        _department_fk("case_assignments"),
        sa.UniqueConstraint(
            "case_id", "round", "department", name="uq_case_assignments_case_id_round_department"
        ),
    )
    for column in ("case_id", "department", "reply_due"):
        op.create_index(f"ix_case_assignments_{column}", "case_assignments", [column])


def _create_extension_requests() -> None:
    op.create_table(
        "extension_requests",
        *_id("extension_requests"),
        *_case("extension_requests"),
        _int("assignment_id"),
        _str("department", 128),
        _int("days"),
        _text("reason"),
        _str("requested_by", 64),
        _at("requested_at"),
        _at("previous_due"),
        _str("decision", 16, nullable=True),
        _str("decided_by", 64, nullable=True),
        _at("decided_at", nullable=True),
        _text("decision_note", nullable=True),
        _at("new_due", nullable=True),
        _assignment_fk("extension_requests"),
    )


def _create_records() -> None:
    op.create_table(
        "case_replies",
        *_id("case_replies"),
        *_case("case_replies"),
        _int("assignment_id"),
        _str("department", 128),
        _int("round"),
        _text("result"),
        _str("handler", 64),
        sa.Column("handled_on", sa.Date(), nullable=False),
        _str("written_by", 64),
        _at("written_at"),
        _assignment_fk("case_replies"),
        sa.UniqueConstraint("assignment_id", name="uq_case_replies_assignment_id"),
    )
    op.create_table(
        "progress_notes",
        *_id("progress_notes"),
        *_case("progress_notes"),
        _str("department", 128, nullable=True),
        _str("author", 64),
        _at("at"),
        _text("text"),
    )
    op.create_table(
        "case_surveys",
        *_id("case_surveys"),
        *_case("case_surveys"),
        _int("round"),
        _at("at"),
        _str("actor", 64),
        _flag("resolved"),
        _str("satisfaction", 24),
        _text("citizen_words", nullable=True),
        _text("override_reason", nullable=True),
        _flag("reopened"),
    )


def downgrade() -> None:
    """Drop the workflow's tables (cases keep their status and audit trail)."""
    for table in TABLES:
        op.drop_table(table)
