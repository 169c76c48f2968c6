"""Console logins: users, web sessions and failed login attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str) -> sa.Column[object]:
    # Stored as UTC; ivr.db.models.UtcDateTime adds the zone back on SQLite.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _id(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    """Create the users, web_sessions and login_failures tables."""
    op.create_table(
        "users",
        *_id("users"),
        _str("username", 64),
        _str("display_name", 64),
        _str("password_hash", 255),
        _str("role", 16),
        _str("interface", 128, nullable=True),
        _str("department", 128, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("created_at"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    op.create_table(
        "web_sessions",
        *_id("web_sessions"),
        _str("token_hash", 64),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _str("csrf_token", 64),
        _at("created_at"),
        _at("expires_at"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_web_sessions_user_id_users", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "login_failures",
        *_id("login_failures"),
        _at("at"),
        _str("username", 64),
        _str("client_ip", 64),
    )
    for column in ("at", "username", "client_ip"):
        op.create_index(f"ix_login_failures_{column}", "login_failures", [column])


def downgrade() -> None:
    """Drop the console tables (every login and session goes with them)."""
    for table in ("login_failures", "web_sessions", "users"):  # dependents first
        op.drop_table(table)
