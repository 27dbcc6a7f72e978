"""candidates.login_token_hash: the resume token that binds a candidate to one PC

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 11:00:00

A candidate who logged in can log in again only with the resume token of that login
(a reconnect from the same PC) or after a proctor unlocked them (a seat change).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # add_column without a table rebuild: SQLite keeps the results triggers of 0003.
    op.add_column("candidates", sa.Column("login_token_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_column("login_token_hash")
