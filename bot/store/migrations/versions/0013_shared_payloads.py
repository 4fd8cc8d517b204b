"""Outbox contents many rows share: a round of reminders says the same words to thousands of
chats, so each distinct content is stored once and its rows name it. Fewer indexes to keep
up on every queued row: the claiming index without the priority goes (every claim orders by
priority), so does the lease owner's (every statement naming an owner names the rows too),
and held rows are indexed alone.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_payloads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_payloads")),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("payload", existing_type=sa.Text(), nullable=True)
        batch.add_column(sa.Column("payload_id", sa.Integer(), nullable=True))
        batch.drop_index("ix_outbox_status_due_at")
        batch.drop_index("ix_outbox_lease_owner")
        batch.drop_index("ix_outbox_held_for")
        batch.create_index("ix_outbox_held_for", ["held_for"],
                           sqlite_where=sa.text("held_for IS NOT NULL"),
                           postgresql_where=sa.text("held_for IS NOT NULL"))


def downgrade() -> None:
    op.execute("UPDATE outbox SET payload = (SELECT p.payload FROM outbox_payloads p"
               " WHERE p.id = outbox.payload_id) WHERE payload IS NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_held_for")
        batch.create_index("ix_outbox_held_for", ["held_for"])
        batch.create_index("ix_outbox_lease_owner", ["lease_owner"])
        batch.create_index("ix_outbox_status_due_at", ["status", "due_at"])
        batch.drop_column("payload_id")
        batch.alter_column("payload", existing_type=sa.Text(), nullable=False)
    op.drop_table("outbox_payloads")
