"""results.feed_seq: commit-ordered position of each result in the centre's pull feed

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:30:00

A database trigger (not the ORM) numbers every insert and every update of a result, so
that no write path can bypass it: a result edited with raw SQL moves to the end of the
feed too, where the centre's puller sees it and finds its signature broken.

The number is taken under a lock held until the writing transaction ends, so numbers are
handed out in commit order: once a reader sees number N committed, every smaller number
is committed (or was rolled back and never appears), and every later write gets a larger
one. That is what makes `GET /api/v1/results?after=` safe (docs/results-api.md).
- PostgreSQL: a transaction-scoped advisory lock, then max + 1, in a BEFORE trigger.
  Writers must use READ COMMITTED (the default) so max sees the previous holder's row.
- SQLite: every write transaction already holds the database write lock until it ends
  (BEGIN IMMEDIATE, cbt_server/db/engine.py); an AFTER trigger sets max + 1.

Careful with later migrations: on SQLite, `batch_alter_table("results")` that recreates
the table drops these triggers; such a migration must create them again
(`create_triggers` below). tests/results/test_feed.py fails if they are missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FEED_LOCK_KEY = 0x43425401  # "CBT\1": advisory lock id for the results feed

_NEXT = "(SELECT coalesce(max(feed_seq), 0) + 1 FROM results)"

SQLITE_TRIGGERS = (
    f"""
    CREATE TRIGGER results_feed_seq_insert AFTER INSERT ON results
    BEGIN
        UPDATE results SET feed_seq = {_NEXT} WHERE id = NEW.id;
    END
    """,
    # The WHEN clause skips the trigger's own update (which changes feed_seq).
    f"""
    CREATE TRIGGER results_feed_seq_update AFTER UPDATE ON results
    WHEN NEW.feed_seq IS OLD.feed_seq
    BEGIN
        UPDATE results SET feed_seq = {_NEXT} WHERE id = NEW.id;
    END
    """,
)

POSTGRESQL_TRIGGERS = (
    f"""
    CREATE FUNCTION results_feed_seq() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock({FEED_LOCK_KEY});
        NEW.feed_seq := {_NEXT};
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER results_feed_seq BEFORE INSERT OR UPDATE ON results
    FOR EACH ROW EXECUTE FUNCTION results_feed_seq()
    """,
)


def create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    statements = SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRESQL_TRIGGERS
    for statement in statements:
        op.execute(statement)


def drop_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS results_feed_seq_insert")
        op.execute("DROP TRIGGER IF EXISTS results_feed_seq_update")
    else:
        op.execute("DROP TRIGGER IF EXISTS results_feed_seq ON results")
        op.execute("DROP FUNCTION IF EXISTS results_feed_seq()")


def upgrade() -> None:
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feed_seq", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_results_feed_seq"), ["feed_seq"])
    # Results written before this revision keep their insertion order.
    op.execute("UPDATE results SET feed_seq = id")
    create_triggers()


def downgrade() -> None:
    drop_triggers()
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_results_feed_seq"), type_="unique")
        batch_op.drop_column("feed_seq")
