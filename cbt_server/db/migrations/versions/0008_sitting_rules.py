"""the rules of a sitting: late admission, earliest hand-in, calculator (issue 20)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exam_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("late_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("min_submit_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("calculator", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("late_admitted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_column("late_admitted")
    with op.batch_alter_table("exam_sessions", schema=None) as batch_op:
        batch_op.drop_column("calculator")
        batch_op.drop_column("min_submit_minutes")
        batch_op.drop_column("late_minutes")
