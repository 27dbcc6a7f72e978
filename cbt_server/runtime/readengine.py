"""A read-only engine for SQLite whose transactions begin DEFERRED, run in the loop.

The main engine begins every transaction IMMEDIATE (cbt_server/db/engine.py), which takes
SQLite's write lock even to read. State sent to clients and the console is read a lot;
in WAL mode a deferred transaction reads a consistent snapshot without that lock, so
readers neither wait for writers nor make them wait. Since they never wait, they run in
the event loop's thread (`db/inline_sqlite.py`) instead of aiosqlite's worker thread: a
short read transaction cost about 1 ms of CPU through aiosqlite and 0.23 ms inline.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from cbt_server.db import inline_sqlite

READ_BUSY_TIMEOUT_S = 1.0


def make_read_engine(url: str) -> AsyncEngine | None:
    """A deferred-transaction engine on the same SQLite file; None for other databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    engine = create_async_engine(
        parsed.set(drivername=f"sqlite+{inline_sqlite.DRIVER}"),
        # A reader waits only while another connection recovers the WAL (after a
        # crash): rare and short, and it would hold up the loop, so give up soon and
        # let the caller's retry of transient errors take it.
        connect_args={"timeout": READ_BUSY_TIMEOUT_S},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(READ_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN DEFERRED")

    return engine
