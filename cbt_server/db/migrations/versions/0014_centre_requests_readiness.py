"""centre paper requests (a site's request, its approval and sealed package) and the
lab readiness verdicts sites push

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 11:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cbt_server.db.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = cbt_server.db.types.UTCDateTime(timezone=True)
    op.create_table(
        "centre_paper_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("occupation", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("session", sa.String(length=64), nullable=False),
        sa.Column("exam_date", sa.Date(), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("roster", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("blueprint_id", sa.String(length=128), nullable=True),
        sa.Column("package_id", sa.String(length=64), nullable=True),
        sa.Column("package", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=True),
        sa.Column("requested_at", when, nullable=False),
        sa.Column("approved_by", sa.String(length=128), nullable=True),
        sa.Column("approved_at", when, nullable=True),
        sa.Column("pulled_at", when, nullable=True),
        sa.Column("key_released_at", when, nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["centre_sites.id"],
            name=op.f("fk_centre_paper_requests_site_id_centre_sites"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_centre_paper_requests")),
        sa.UniqueConstraint("site_id", "session", name=op.f("uq_centre_paper_requests_site_id")),
    )
    with op.batch_alter_table("centre_paper_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_centre_paper_requests_site_id"), ["site_id"], unique=False
        )

    op.create_table(
        "centre_readiness",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
        sa.Column("generated_at", sa.String(length=64), nullable=False),
        sa.Column("received_at", when, nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["centre_sites.id"], name=op.f("fk_centre_readiness_site_id_centre_sites")
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_centre_readiness")),
    )


def downgrade() -> None:
    op.drop_table("centre_readiness")
    with op.batch_alter_table("centre_paper_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_centre_paper_requests_site_id"))
    op.drop_table("centre_paper_requests")
