"""Delivery at scale: outbox priorities and lease holders, one sender per channel token.

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.SmallInteger(), nullable=False,
                                   server_default="2"))
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        # room for "sent_unconfirmed"
        batch.alter_column("status", type_=sa.String(length=20),
                           existing_type=sa.String(length=12), existing_nullable=False)
    op.create_index("ix_outbox_status_priority_due_at", "outbox",
                    ["status", "priority", "due_at"])
    op.create_index("ix_outbox_lease_owner", "outbox", ["lease_owner"])
    op.create_table(
        "channel_senders",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("held_until", UTCDateTime, nullable=True),
        sa.Column("paused_until", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_senders")),
    )


def downgrade() -> None:
    op.drop_table("channel_senders")
    op.drop_index("ix_outbox_lease_owner", table_name="outbox")
    op.drop_index("ix_outbox_status_priority_due_at", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_owner")
        batch.drop_column("priority")
        batch.alter_column("status", type_=sa.String(length=12),
                           existing_type=sa.String(length=20), existing_nullable=False)
