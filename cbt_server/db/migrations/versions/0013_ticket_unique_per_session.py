"""candidates: a ticket is unique per session, not across all sessions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 11:30:00

The rehearsal (试考) and the formal sitting of one room take the same people with the
same admission tickets (准考证号), so `candidates.ticket` loses its global unique
constraint and gets one on (session_id, ticket) instead, plus a plain index for the
login's look-up by ticket. Rows are kept as they are: every existing ticket was unique
globally, so it is unique per session too.

On SQLite the table is rebuilt (batch mode); cbt_server.db.migrate turns foreign keys
off around the migration, as SQLite's rebuild procedure requires, and checks them after.
Nothing has triggers on `candidates` (the feed's triggers are on `results`).
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_constraint("uq_candidates_ticket", type_="unique")
        batch_op.create_unique_constraint("uq_candidates_session_ticket", ["session_id", "ticket"])
        batch_op.create_index("ix_candidates_ticket", ["ticket"], unique=False)


def downgrade() -> None:
    # Fails (and changes nothing) if a ticket is now registered in several sessions.
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_candidates_ticket")
        batch_op.drop_constraint("uq_candidates_session_ticket", type_="unique")
        batch_op.create_unique_constraint("uq_candidates_ticket", ["ticket"])
