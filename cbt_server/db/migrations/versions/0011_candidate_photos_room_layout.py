"""candidate photos, identity checks, room layout (issue 20: identity, the console fits the room)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cbt_server.db.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candidate_photos",
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("imported_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["candidates.id"],
            name=op.f("fk_candidate_photos_candidate_id_candidates"),
        ),
        sa.PrimaryKeyConstraint("candidate_id", name=op.f("pk_candidate_photos")),
    )
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("identity_checked_at", UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("identity_checked_by", sa.String(length=128), nullable=True))
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rows", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cols", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_column("cols")
        batch_op.drop_column("rows")
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_column("identity_checked_by")
        batch_op.drop_column("identity_checked_at")
    op.drop_table("candidate_photos")
