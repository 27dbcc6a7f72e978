"""SQLite's WAL checkpoints run beside the writes, not inside a commit."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import text

from cbt_server.db.checkpoint import checkpoint_forever
from cbt_server.db.engine import make_engine
from cbt_server.runtime.tasks import stop_tasks
from tests.waiting import wait_until

ROW = "x" * 2000


def _size(path: Path) -> int:
    return path.stat().st_size


async def _write(engine_url: str, rows: int, *, autocheckpoint: bool) -> None:
    engine = make_engine(engine_url, sqlite_autocheckpoint=autocheckpoint)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE IF NOT EXISTS t (v TEXT)"))
        for _ in range(rows // 500):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": ROW}] * 500)
    finally:
        await engine.dispose()


async def test_the_server_engine_leaves_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    database = tmp_path / "cbt.sqlite3"
    url = f"sqlite+aiosqlite:///{database}"
    await _write(url, 10, autocheckpoint=False)
    # Another connection stays open, as the server's do: the last one to close would
    # checkpoint everything itself.
    keeper = sqlite3.connect(database)
    keeper.execute("SELECT count(*) FROM t").fetchall()
    await _write(url, 3000, autocheckpoint=False)  # about 6 MB, past 1,000 pages
    wal = Path(f"{database}-wal")
    assert _size(wal) > 5_000_000  # all of it still in the log
    assert _size(database) < 1_000_000  # nothing copied into the database yet

    task = asyncio.create_task(checkpoint_forever(database, every_s=0.05))
    try:
        # Copied by the checkpointer.
        await wait_until(lambda: _size(database) > 5_000_000, "the checkpoint", within=5)
    finally:
        await stop_tasks([task])
        keeper.close()


async def test_by_default_sqlite_checkpoints_in_the_commit(tmp_path: Path) -> None:
    database = tmp_path / "cbt.sqlite3"
    await _write(f"sqlite+aiosqlite:///{database}", 3000, autocheckpoint=True)
    assert _size(database) > 4_000_000  # the commits copied pages themselves
