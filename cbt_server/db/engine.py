"""Engine and session-maker set-up, tuned per database.

SQLite: WAL, a busy timeout, and BEGIN IMMEDIATE for every transaction, so that concurrent
writers queue for the write lock instead of failing with 'database is locked' when a
read-then-write transaction tries to upgrade its lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from cbt_server.durable import private_dir


def make_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    sqlite_autocheckpoint: bool = True,
    **kwargs: Any,
) -> AsyncEngine:
    """Create an async engine for `url` (sqlite+aiosqlite or postgresql+asyncpg).

    `sqlite_autocheckpoint=False` leaves WAL checkpoints to the caller, who must run
    `db.checkpoint.checkpoint_forever` (the server does), or the log grows without end.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_dir(Path(parsed.database).parent)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine, sqlite_synchronous, sqlite_autocheckpoint)
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r} in {url!r}")


def _tune_sqlite(engine: AsyncEngine, synchronous: str, autocheckpoint: bool) -> None:
    if synchronous not in {"FULL", "NORMAL"}:
        raise ValueError(f"bad sqlite synchronous mode {synchronous!r}")

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the driver so BEGIN IMMEDIATE below is ours.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
