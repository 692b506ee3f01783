"""Sync scheduling: due times and worker leases on connections, intervals in seconds.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("due_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_attempt_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("problems", sa.JSON(), nullable=True))
        batch.create_index("ix_connections_due", ["due_at"], unique=False)
    # sync_interval was minutes; it is seconds now. Existing connections are due at once.
    op.execute("UPDATE connections SET sync_interval = sync_interval * 60")
    op.execute("UPDATE connections SET due_at = 0 WHERE status NOT IN ('needs_reauth', 'disabled')")


def downgrade() -> None:
    op.execute("UPDATE connections SET sync_interval = sync_interval / 60")
    with op.batch_alter_table("connections") as batch:
        batch.drop_index("ix_connections_due")
        batch.drop_column("problems")
        batch.drop_column("last_attempt_at")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
        batch.drop_column("due_at")
