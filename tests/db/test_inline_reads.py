"""The SQLite read engine runs in the event loop's thread (`db/inline_sqlite.py`): it reads
what the main engine reads, never waits for a writer, cannot write, and reports errors
as SQLAlchemy errors with the connection still usable."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import AwaitRequired, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.migrate import upgrade
from cbt_server.db.types import utcnow
from cbt_server.runtime.readengine import make_read_engine


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cbt.sqlite3'}"
    main = make_engine(url)
    await upgrade(main)
    reader = make_read_engine(url)
    assert reader is not None
    yield main, reader
    await reader.dispose()
    await main.dispose()


def test_only_sqlite_gets_a_read_engine() -> None:
    assert make_read_engine("postgresql+asyncpg://u@127.0.0.1/db") is None


async def test_reads_the_same_rows_and_types_in_the_loops_thread(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    main, reader = engines
    assert reader.dialect.driver == "cbtinline"
    at = utcnow()
    async with make_sessionmaker(main).begin() as session:
        session.add(
            models.AuditEntry(
                at=at, actor="proctor", role="proctor", action="note", target="S-01",
                reason="", data={"文本": "第一机房", "n": [1, 2]}, prev_hash="0" * 64,
                hash="1" * 64,
            )
        )  # fmt: skip
    threads = threading.active_count()
    async with make_sessionmaker(reader).begin() as session:
        entry = (await session.scalars(select(models.AuditEntry))).one()
        assert threading.get_ident() == threading.main_thread().ident
    assert threading.active_count() == threads  # no worker thread was started
    assert entry.data == {"文本": "第一机房", "n": [1, 2]}
    assert entry.at == at and entry.at.tzinfo is not None


async def test_a_reader_neither_waits_for_a_writer_nor_sees_its_uncommitted_rows(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    main, reader = engines
    count = text("SELECT count(*) FROM heartbeats")
    async with main.connect() as writer:
        await writer.begin()  # BEGIN IMMEDIATE: holds SQLite's write lock
        await writer.execute(text("INSERT INTO heartbeats (process_id, beat_at) VALUES ('w', 0)"))
        async with make_sessionmaker(reader).begin() as session:
            assert await session.scalar(count) == 0
        # Read while the writer held the lock, which it gives up only after the read: a
        # reader that waited for it would have failed with "database is locked". (How
        # long such a read takes is in loadtests/timings.py.)
        assert writer.in_transaction()
        await writer.commit()
    async with make_sessionmaker(reader).begin() as session:
        assert await session.scalar(count) == 1


async def test_it_cannot_write_and_errors_leave_it_usable(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    _main, reader = engines
    sessionmaker = make_sessionmaker(reader)
    with pytest.raises(OperationalError, match="readonly"):
        async with sessionmaker.begin() as session:
            await session.execute(
                text("INSERT INTO heartbeats (process_id, beat_at) VALUES ('r', 0)")
            )
    with pytest.raises(OperationalError, match="no such table"):
        async with sessionmaker.begin() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    async with sessionmaker.begin() as session:  # the pooled connection still works
        assert await session.scalar(text("SELECT 1")) == 1
    assert reader.pool.checkedout() == 0


async def test_core_connections_say_to_use_a_session(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """The runtime reads through sessions; SQLAlchemy's Core AsyncConnection.execute
    insists on a real await, and says so rather than running anything."""
    _main, reader = engines
    async with reader.connect() as conn:
        with pytest.raises(AwaitRequired):
            await conn.execute(text("SELECT 1"))


async def test_readers_of_many_tasks_share_the_loop(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    _main, reader = engines
    sessionmaker = make_sessionmaker(reader)

    async def read(n: int) -> int:
        async with sessionmaker.begin() as session:
            await asyncio.sleep(0)  # interleave the transactions
            value = await session.scalar(text(f"SELECT {n}"))
            return int(value)

    assert await asyncio.gather(*(read(n) for n in range(50))) == list(range(50))
