"""A read-only engine for SQLite whose transactions begin DEFERRED.

The main engine begins every transaction IMMEDIATE (cbt_server/db/engine.py), which takes
SQLite's write lock even to read. State sent to clients and the console is read a lot;
in WAL mode a deferred transaction reads a consistent snapshot without that lock, so
readers neither wait for writers nor make them wait.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_read_engine(url: str) -> AsyncEngine | None:
    """A deferred-transaction engine on the same SQLite file; None for other databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    engine = create_async_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN DEFERRED")

    return engine
