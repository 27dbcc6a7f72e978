"""SQLite's WAL checkpoints, taken off the path of the writes.

By default SQLite checkpoints inside the commit that grows the write-ahead log past 1,000
pages: that commit then copies the pages into the database file and syncs it, and with
synchronous=FULL on a lab server's disk this took up to about 1.5 s. The exam's writes
wait on one another (one writer), so every answer of a room waited with it: a room of
2,000 submitting together, each result a few kilobytes, hit it every few seconds. The
server's engine turns that off (`make_engine(..., sqlite_autocheckpoint=False)`) and this
task checkpoints instead, PASSIVE (never waiting for a reader or blocking a writer), on a
connection of its own in its own thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

EVERY_S = 1.0
"""Seconds between checkpoints: the log stays within a few megabytes at a room's peak."""


def _checkpoint(connection: sqlite3.Connection) -> tuple[int, int, int]:
    row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


async def checkpoint_forever(database: Path, every_s: float = EVERY_S) -> None:
    """Checkpoint the database's WAL every `every_s` seconds until cancelled."""
    connection = await asyncio.to_thread(
        sqlite3.connect, str(database), timeout=30, isolation_level=None,
        check_same_thread=False,
    )  # fmt: skip
    running: asyncio.Future[tuple[int, int, int]] | None = None
    try:
        while True:
            await asyncio.sleep(every_s)
            running = asyncio.ensure_future(asyncio.to_thread(_checkpoint, connection))
            try:
                await asyncio.shield(running)
            except sqlite3.Error as error:  # busy or I/O: the next round tries again
                log.warning("WAL checkpoint failed: %s", error)
    finally:
        if running is not None and not running.done():
            await asyncio.wait([running])  # its thread still uses the connection
        connection.close()
