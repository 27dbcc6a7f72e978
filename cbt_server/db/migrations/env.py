"""Alembic environment: runs on a connection handed in by cbt_server.db.migrate."""

from __future__ import annotations

from alembic import context

import cbt_server.centre.models  # noqa: F401  (the centre's tables, same metadata)
import cbt_server.db.lab_models  # noqa: F401  (the lab PCs' tables, same metadata)
from cbt_server.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through cbt_server.db.migrate (cbt-server db upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
