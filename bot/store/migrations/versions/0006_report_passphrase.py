"""A report's passphrase, kept only as a keyed hash: reading police questions and adding
information need it beside the ticket. Reports filed before have none and stay read-only.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("passphrase_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("passphrase_hash")
