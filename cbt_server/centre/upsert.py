"""Insert or replace centre results by (site, session, ticket), on SQLite and PostgreSQL.

A site publishes a result again when it changes (the examiner leader signs off: `final`
becomes true; a correction): the centre's row is replaced, so each candidate's result is
one row however often it is pulled.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.centre.models import CentreResult

_KEY = ("site_id", "session", "ticket")


async def upsert_results(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Upsert `rows` (column values of CentreResult; no two with the same key)."""
    dialect = db.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(CentreResult)
    updated = {
        column.name: stmt.excluded[column.name]
        for column in CentreResult.__table__.columns
        if column.name not in (*_KEY, "id")
    }
    stmt = stmt.on_conflict_do_update(index_elements=list(_KEY), set_=updated)
    await db.execute(stmt, rows)
