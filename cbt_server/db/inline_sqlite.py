"""SQLite read transactions run in the event loop's own thread (`sqlite+cbtinline://`).

aiosqlite runs every call on a worker thread: a statement is three or four round trips
(cursor, execute, fetch, close), each a queue hand-off, a thread wake-up, the GIL passed
back and forth, and a wake-up of the loop. Measured here, a one-row SELECT cost 150 µs
of CPU through aiosqlite against 6 µs through sqlite3 directly, and a short read
transaction through SQLAlchemy about 1 ms, most of it those round trips.

For *reads* of a WAL database on local disk the thread buys nothing: a deferred read
transaction takes no lock that a writer holds, so it never waits for one, and its pages
come from the OS cache. This dialect gives SQLAlchemy's asyncio layer a connection whose
awaitables complete at once, so a read costs what SQLite and the ORM cost and no more.

Only the read engine uses it (`runtime/readengine.py`), with `PRAGMA query_only`. Writes
stay on aiosqlite: a commit waits for fsync, and a write transaction may wait for the
write lock held by another process, and neither may stall the event loop.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.engine.url import URL

DRIVER = "cbtinline"


class InlineConnection(AdaptedConnection):
    """A sqlite3 connection as SQLAlchemy's asyncio layer expects a driver connection.

    Nothing here awaits: the ORM's code runs in its greenlet as with any async driver,
    and each call goes straight to sqlite3, whose cursors SQLAlchemy uses as they are.
    """

    __slots__ = ("_sqlite",)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._sqlite = connection

    @property
    def driver_connection(self) -> sqlite3.Connection:
        return self._sqlite

    def cursor(self, *args: Any, **kw: Any) -> sqlite3.Cursor:
        return self._sqlite.cursor(*args, **kw)

    def execute(self, *args: Any, **kw: Any) -> sqlite3.Cursor:
        return self._sqlite.execute(*args, **kw)

    def commit(self) -> None:
        self._sqlite.commit()

    def rollback(self) -> None:
        self._sqlite.rollback()

    def close(self) -> None:
        self._sqlite.close()

    def create_function(self, *args: Any, **kw: Any) -> None:
        self._sqlite.create_function(*args, **kw)

    @property
    def isolation_level(self) -> str | None:
        return self._sqlite.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._sqlite.isolation_level = value


class _InlineDBAPI:
    """sqlite3 as the DBAPI module, with connect() giving `InlineConnection`s."""

    paramstyle = "qmark"

    def __getattr__(self, name: str) -> Any:
        return getattr(sqlite3, name)

    def connect(self, *args: Any, **kw: Any) -> InlineConnection:
        # Pool connections may be closed from another thread (garbage collection at
        # exit); statements only ever run in the loop's thread.
        kw["check_same_thread"] = False
        return InlineConnection(sqlite3.connect(*args, **kw))


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """The pysqlite dialect, declared asynchronous: its calls never wait."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True
    supports_server_side_cursors = False

    @classmethod
    def import_dbapi(cls) -> Any:
        return _InlineDBAPI()

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool

    def get_driver_connection(self, connection: Any) -> Any:
        return connection.driver_connection


registry.register(f"sqlite.{DRIVER}", __name__, "InlineSQLiteDialect")
