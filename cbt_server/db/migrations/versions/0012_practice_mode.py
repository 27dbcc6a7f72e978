"""practice mode (练习): feedback, untimed, the practice code's hash; checked answers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cbt_server.db.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exam_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feedback", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("untimed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("practice_code_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_exam_sessions_practice_code_hash"), ["practice_code_hash"]
        )
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_column("checked_at")
    with op.batch_alter_table("exam_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_exam_sessions_practice_code_hash"), type_="unique")
        batch_op.drop_column("practice_code_hash")
        batch_op.drop_column("untimed")
        batch_op.drop_column("feedback")
