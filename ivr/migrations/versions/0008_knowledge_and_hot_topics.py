"""知识库 articles and the cases they answered; hot-topic alerts, their cases, sensitive words.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    # Stored as UTC; ivr.db.models.UtcDateTime adds the zone back on SQLite.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.Integer(), nullable=False)


def upgrade() -> None:
    """Create kb_articles, sensitive_words, hot_topic_alerts(+_cases); cases.kb_article_id."""
    op.create_table(
        "kb_articles",
        _id(),
        _str("title", 200),
        sa.Column("body", sa.Text(), nullable=False),
        _str("kind", 16),
        _str("category", 64),
        _str("owner", 128),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("search_words", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _str("updated_by", 64),
        sa.PrimaryKeyConstraint("id", name="pk_kb_articles"),
    )
    op.create_index("ix_kb_articles_category", "kb_articles", ["category"])
    op.create_table(
        "sensitive_words",
        _id(),
        _str("word", 64),
        _str("added_by", 64),
        _at("added_at"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sensitive_words"),
        sa.UniqueConstraint("word", name="uq_sensitive_words_word"),
    )
    _alerts()
    with op.batch_alter_table("cases") as batch:  # SQLite adds a foreign key by rebuilding
        batch.add_column(sa.Column("kb_article_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("first_contact_resolved", sa.Boolean(), nullable=False, server_default="0")
        )
        batch.create_foreign_key(
            "fk_cases_kb_article_id_kb_articles",
            "kb_articles",
            ["kb_article_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_cases_kb_article_id", ["kb_article_id"])


def _alerts() -> None:
    op.create_table(
        "hot_topic_alerts",
        _id(),
        _str("kind", 16),
        _str("key", 200),
        _str("title", 200),
        _at("window_start"),
        _at("window_end"),
        _at("raised_at"),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Double(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        _str("state", 16),
        _str("acknowledged_by", 64, nullable=True),
        _at("acknowledged_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_hot_topic_alerts"),
        sa.UniqueConstraint(
            "kind", "key", "window_start", name="uq_hot_topic_alerts_kind_key_window_start"
        ),
    )
    for column in ("raised_at", "state"):
        op.create_index(f"ix_hot_topic_alerts_{column}", "hot_topic_alerts", [column])
    op.create_table(
        "hot_topic_alert_cases",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", "case_id", name="pk_hot_topic_alert_cases"),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["hot_topic_alerts.id"],
            name="fk_hot_topic_alert_cases_alert_id_hot_topic_alerts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name="fk_hot_topic_alert_cases_case_id_cases",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_hot_topic_alert_cases_case_id", "hot_topic_alert_cases", ["case_id"])


def downgrade() -> None:
    """Drop what upgrade created."""
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_kb_article_id")
        batch.drop_constraint("fk_cases_kb_article_id_kb_articles", type_="foreignkey")
        batch.drop_column("first_contact_resolved")
        batch.drop_column("kb_article_id")
    op.drop_table("hot_topic_alert_cases")
    op.drop_table("hot_topic_alerts")
    op.drop_table("sensitive_words")
    op.drop_table("kb_articles")
