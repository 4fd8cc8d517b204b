"""The inbox: every update acknowledged to a platform, recorded before the acknowledgement and
kept until it has been handled.

Revision ID: 0011
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("lease_until", UTCDateTime, nullable=False),
        sa.Column("handled_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_updates")),
        sa.UniqueConstraint("channel", "update_id", name="uq_inbound_updates_channel_update_id"),
    )
    op.create_index("ix_inbound_updates_state_lease_until", "inbound_updates",
                    ["state", "lease_until"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_inbound_updates_state_lease_until", table_name="inbound_updates")
    op.drop_table("inbound_updates")
