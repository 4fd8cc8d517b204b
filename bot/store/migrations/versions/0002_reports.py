"""Communes and anonymous reports: the official commune list, reports with sealed content,
attachments, the two-way follow-up, reply handles, abuse limits, officer invites and inboxes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inboxes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("commune_code", sa.String(length=16), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("linked_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inboxes")),
        sa.UniqueConstraint("channel", "chat_id", name="uq_inboxes_channel"),
    )
    op.create_index(op.f("ix_inboxes_commune_code"), "inboxes", ["commune_code"], unique=False)
    op.create_index(op.f("ix_inboxes_province_code"), "inboxes", ["province_code"], unique=False)
    op.create_table(
        "invites",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("commune_code", sa.String(length=16), nullable=True),
        sa.Column("province_code", sa.String(length=8), nullable=True),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_invites")),
    )
    op.create_table(
        "provinces",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_provinces")),
    )
    op.create_table(
        "slowed_reporters",
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("until", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("alias", name=op.f("pk_slowed_reporters")),
    )
    op.create_table(
        "communes",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=96), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_code"], ["provinces.code"], name=op.f("fk_communes_province_code_provinces")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_communes")),
    )
    op.create_index(op.f("ix_communes_province_code"), "communes", ["province_code"], unique=False)
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket", sa.String(length=16), nullable=False),
        sa.Column("commune_code", sa.String(length=16), nullable=False),
        sa.Column("province_code", sa.String(length=8), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("follow_up", sa.Boolean(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("received_day", sa.Date(), nullable=False),
        sa.Column("received_part", sa.String(length=12), nullable=False),
        sa.Column("received_hour", UTCDateTime, nullable=False),
        sa.Column("routed_level", sa.String(length=12), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime, nullable=True),
        sa.Column("escalated_at", UTCDateTime, nullable=True),
        sa.Column("closed_at", UTCDateTime, nullable=True),
        sa.ForeignKeyConstraint(
            ["commune_code"], ["communes.code"], name=op.f("fk_reports_commune_code_communes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("ticket", name="uq_reports_ticket"),
    )
    op.create_index(op.f("ix_reports_commune_code"), "reports", ["commune_code"], unique=False)
    op.create_index(op.f("ix_reports_province_code"), "reports", ["province_code"], unique=False)
    op.create_table(
        "reply_handles",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("handle", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_reply_handles_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_reply_handles")),
    )
    op.create_index(
        op.f("ix_reply_handles_expires_at"), "reply_handles", ["expires_at"], unique=False
    )
    op.create_table(
        "report_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_attachments_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_attachments")),
    )
    op.create_index(
        op.f("ix_report_attachments_report_id"), "report_attachments", ["report_id"], unique=False
    )
    op.create_table(
        "report_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("author", sa.String(length=32), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_messages_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_messages")),
    )
    op.create_index(
        op.f("ix_report_messages_report_id"), "report_messages", ["report_id"], unique=False
    )
    op.create_table(
        "report_sources",
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("text_digest", sa.String(length=64), nullable=False),
        sa.Column("received_day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_sources_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_report_sources")),
    )
    op.create_index(op.f("ix_report_sources_alias"), "report_sources", ["alias"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_report_sources_alias"), table_name="report_sources")
    op.drop_table("report_sources")
    op.drop_index(op.f("ix_report_messages_report_id"), table_name="report_messages")
    op.drop_table("report_messages")
    op.drop_index(op.f("ix_report_attachments_report_id"), table_name="report_attachments")
    op.drop_table("report_attachments")
    op.drop_index(op.f("ix_reply_handles_expires_at"), table_name="reply_handles")
    op.drop_table("reply_handles")
    op.drop_index(op.f("ix_reports_province_code"), table_name="reports")
    op.drop_index(op.f("ix_reports_commune_code"), table_name="reports")
    op.drop_table("reports")
    op.drop_index(op.f("ix_communes_province_code"), table_name="communes")
    op.drop_table("communes")
    op.drop_table("slowed_reporters")
    op.drop_table("provinces")
    op.drop_table("invites")
    op.drop_index(op.f("ix_inboxes_province_code"), table_name="inboxes")
    op.drop_index(op.f("ix_inboxes_commune_code"), table_name="inboxes")
    op.drop_table("inboxes")
