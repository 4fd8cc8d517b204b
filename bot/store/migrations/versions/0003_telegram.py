"""Telegram: update ids already handled (webhook replays across replicas) and button data too
long for Telegram's 64-byte limit.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_updates",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_id", name=op.f("pk_seen_updates")),
    )
    op.create_index(op.f("ix_seen_updates_seen_at"), "seen_updates", ["seen_at"], unique=False)
    op.create_table(
        "button_payloads",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_button_payloads")),
    )
    op.create_index(
        op.f("ix_button_payloads_created_at"), "button_payloads", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_button_payloads_created_at"), table_name="button_payloads")
    op.drop_table("button_payloads")
    op.drop_index(op.f("ix_seen_updates_seen_at"), table_name="seen_updates")
    op.drop_table("seen_updates")
