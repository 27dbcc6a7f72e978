"""exam modes (formal / rehearsal / practice) and paper packages with a validity window

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cbt_server.db.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_packages",
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("creator", sa.String(length=256), nullable=False),
        sa.Column("imported_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("not_before", UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_after", UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_paper_packages")),
        sa.UniqueConstraint("used_by", name=op.f("uq_paper_packages_used_by")),
    )
    # Blueprints, sessions and packages refer to one another in a ring: the package's
    # reference to its session is added after the table (use_alter in the model).
    with op.batch_alter_table("paper_packages", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_paper_packages_used_by_exam_sessions"),
            "exam_sessions",
            ["used_by"],
            ["id"],
        )
    with op.batch_alter_table("blueprints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("package_id", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_blueprints_package_id_paper_packages"),
            "paper_packages",
            ["package_id"],
            ["package_id"],
        )
    with op.batch_alter_table("exam_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("mode", sa.String(length=16), server_default="formal", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("exam_sessions", schema=None) as batch_op:
        batch_op.drop_column("mode")
    with op.batch_alter_table("blueprints", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_blueprints_package_id_paper_packages"), type_="foreignkey"
        )
        batch_op.drop_column("package_id")
    op.drop_table("paper_packages")
