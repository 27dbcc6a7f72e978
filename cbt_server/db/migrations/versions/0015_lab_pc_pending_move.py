"""lab_pcs: a mapped PC's registration from a new address, held for confirmation

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 11:45:00

A registration that would move a PC mapped to a seat to another address (a machine that
copied the PC's name and a MAC, or the PC really moved) no longer takes effect at once:
`pending_address` is the address it came from and `pending` what it said (its agent id,
MACs, facts, requested seat), until the lab administrator confirms or rejects it
(docs/lab-readiness.md). Both are NULL for every existing row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # add_column without a table rebuild (plain nullable columns).
    op.add_column("lab_pcs", sa.Column("pending_address", sa.String(length=64), nullable=True))
    op.add_column("lab_pcs", sa.Column("pending", sa.JSON(), nullable=True))
    op.create_index("ix_lab_pcs_pending_address", "lab_pcs", ["pending_address"])


def downgrade() -> None:
    op.drop_index("ix_lab_pcs_pending_address", table_name="lab_pcs")
    with op.batch_alter_table("lab_pcs", schema=None) as batch_op:
        batch_op.drop_column("pending")
        batch_op.drop_column("pending_address")
