"""Zalo Official Account: the OAuth tokens (sealed), each person's messaging window, and
outbox rows held until a person's window opens again.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zalo_oa_tokens",
        sa.Column("app_id", sa.String(length=32), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", UTCDateTime, nullable=False),
        sa.Column("refresh_expires_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_zalo_oa_tokens")),
    )
    op.create_table(
        "zalo_oa_windows",
        sa.Column("chat_key", sa.String(length=64), nullable=False),
        sa.Column("message_key", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("heard_at", UTCDateTime, nullable=False),
        sa.Column("free_replies", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("chat_key", name=op.f("pk_zalo_oa_windows")),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("held_for", sa.String(length=64), nullable=True))
        batch.create_index("ix_outbox_held_for", ["held_for"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_held_for")
        batch.drop_column("held_for")
    op.drop_table("zalo_oa_windows")
    op.drop_table("zalo_oa_tokens")
