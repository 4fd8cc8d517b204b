"""Appointments of enrolled people, the case officer's inbox, the weekly digest's rounds, and
the planner's claiming order as an index.

Revision ID: 0012
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("next_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolments.id"], ondelete="CASCADE",
                                name=op.f("fk_appointments_enrolment_id_enrolments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index(op.f("ix_appointments_enrolment_id"), "appointments", ["enrolment_id"])
    op.create_index(op.f("ix_appointments_next_at"), "appointments", ["next_at"])
    # no foreign key: SQLite cannot add one to an existing table; a gone inbox reads as unlinked
    op.add_column("enrolments", sa.Column("case_inbox_id", sa.Integer(), nullable=True))
    # the planner's order (due time, then id) as an index: a batch is a range, not a sort
    op.drop_index(op.f("ix_enrolments_next_due_at"), table_name="enrolments")
    op.create_index("ix_enrolments_next_due_at_id", "enrolments", ["next_due_at", "id"])
    op.create_table(
        "digest_rounds",
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_digest_rounds")),
    )


def downgrade() -> None:
    op.drop_table("digest_rounds")
    op.drop_index("ix_enrolments_next_due_at_id", table_name="enrolments")
    op.create_index(op.f("ix_enrolments_next_due_at"), "enrolments", ["next_due_at"])
    with op.batch_alter_table("enrolments") as batch:
        batch.drop_column("case_inbox_id")
    op.drop_table("appointments")
