"""Check-ins: enrolled people, their scheduled check-ins and the alerts they raise.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrolments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("commune_code", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.LargeBinary(), nullable=False),
        sa.Column("case_officer", sa.LargeBinary(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("local_time", sa.String(length=5), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("ask_use", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.LargeBinary(), nullable=True),
        sa.Column("link_hash", sa.String(length=64), nullable=True),
        sa.Column("link_expires_at", UTCDateTime, nullable=True),
        sa.Column("next_due_at", UTCDateTime, nullable=True),
        sa.Column("misses", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(["commune_code"], ["communes.code"],
                                name=op.f("fk_enrolments_commune_code_communes")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_enrolments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolments")),
        sa.UniqueConstraint("user_id", name=op.f("uq_enrolments_user_id")),
        sa.UniqueConstraint("link_hash", name=op.f("uq_enrolments_link_hash")),
    )
    for column in ("commune_code", "province_code", "next_due_at"):
        op.create_index(op.f(f"ix_enrolments_{column}"), "enrolments", [column])
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("slot", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("answers", sa.LargeBinary(), nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("answered_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolments.id"], ondelete="CASCADE",
                                name=op.f("fk_checkins_enrolment_id_enrolments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint("enrolment_id", "slot", name="uq_checkins_enrolment_id_slot"),
    )
    op.create_index(op.f("ix_checkins_status"), "checkins", ["status"])
    op.create_table(
        "checkin_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enrolment_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("acknowledged_at", UTCDateTime, nullable=True),
        sa.Column("escalated_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(["enrolment_id"], ["enrolments.id"], ondelete="CASCADE",
                                name=op.f("fk_checkin_alerts_enrolment_id_enrolments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_alerts")),
    )
    op.create_index(op.f("ix_checkin_alerts_enrolment_id"), "checkin_alerts", ["enrolment_id"])


def downgrade() -> None:
    op.drop_table("checkin_alerts")
    op.drop_table("checkins")
    op.drop_table("enrolments")
