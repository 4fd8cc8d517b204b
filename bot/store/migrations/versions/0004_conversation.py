"""Conversation platform: suspended flows, numbered option menus, paged option lists.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suspended_conversations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("flow", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_suspended_conversations_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_suspended_conversations")),
    )
    op.create_table(
        "option_menus",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_option_menus_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_option_menus")),
    )
    op.create_table(
        "option_lists",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_option_lists")),
    )
    op.create_index(op.f("ix_option_lists_expires_at"), "option_lists", ["expires_at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_option_lists_expires_at"), table_name="option_lists")
    op.drop_table("option_lists")
    op.drop_table("option_menus")
    op.drop_table("suspended_conversations")
