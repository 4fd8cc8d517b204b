"""Reporting deadlines: rules, calendar overrides, periods, claimed rounds, submissions,
"remind me tomorrow".

Revision ID: 0008
Revises: 0007
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _per_deadline(name: str, *columns: sa.Column[Any], keys: tuple[str, ...]) -> None:
    op.create_table(
        name,
        sa.Column("deadline_id", sa.Integer(), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(["deadline_id"], ["deadlines.id"], ondelete="CASCADE",
                                name=op.f(f"fk_{name}_deadline_id_deadlines")),
        sa.PrimaryKeyConstraint("deadline_id", *keys, name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    op.create_table(
        "deadline_rules",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("added_at", UTCDateTime, nullable=False),
        sa.Column("loaded_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_rules")),
    )
    op.create_table(
        "calendar_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_overrides")),
    )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.String(length=48), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("commune_code", sa.String(length=16), nullable=True),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
        sa.UniqueConstraint("rule_id", "period", name="uq_deadlines_rule_id"),
    )
    op.create_index(op.f("ix_deadlines_due_on"), "deadlines", ["due_on"], unique=False)
    op.create_index(op.f("ix_deadlines_commune_code"), "deadlines", ["commune_code"],
                    unique=False)
    _per_deadline("deadline_runs",
                  sa.Column("kind", sa.String(length=12), nullable=False),
                  sa.Column("day", sa.Date(), nullable=False),
                  sa.Column("planned_at", UTCDateTime, nullable=False),
                  keys=("kind", "day"))
    _per_deadline("deadline_submissions",
                  sa.Column("unit", sa.String(length=16), nullable=False),
                  sa.Column("submitted_at", UTCDateTime, nullable=False),
                  sa.Column("submitted_by", sa.String(length=32), nullable=False),
                  keys=("unit",))
    _per_deadline("deadline_snoozes",
                  sa.Column("unit", sa.String(length=16), nullable=False),
                  sa.Column("remind_on", sa.Date(), nullable=False),
                  sa.Column("sent", sa.Boolean(), nullable=False),
                  keys=("unit",))
    op.create_index(op.f("ix_deadline_snoozes_remind_on"), "deadline_snoozes", ["remind_on"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_deadline_snoozes_remind_on"), table_name="deadline_snoozes")
    for table in ("deadline_snoozes", "deadline_submissions", "deadline_runs"):
        op.drop_table(table)
    op.drop_index(op.f("ix_deadlines_commune_code"), table_name="deadlines")
    op.drop_index(op.f("ix_deadlines_due_on"), table_name="deadlines")
    op.drop_table("deadlines")
    op.drop_table("calendar_overrides")
    op.drop_table("deadline_rules")
