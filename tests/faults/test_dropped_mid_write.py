"""Fault: a candidate's connection drops while the server is writing their answer.

Found by the room load test with --kill-server-at: after the restart, with simulated
candidates hanging up and coming back, every writer of the server stalled for 30 s at a
time ("database is locked"). A unit of work cancelled while a SQLite statement runs in
aiosqlite's thread has its connection hard-closed by SQLAlchemy, but the still-open
cursor keeps the connection alive as a zombie that holds the write lock until garbage
collection. The server must never cancel a write half-way.

Here the write is made slow on purpose (a statement of about half a second inside the
candidate's unit of work, as on a slow disk), the candidate's link dies in the middle
of it, and the next writer must not wait.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cbt_server.runtime.candidate import changes
from tests.conftest import ServerFactory
from tests.faults.page import PageCandidate, pick
from tests.runtime.exam_setup import prepare_database, settings_for
from tests.runtime.wsclient import command, proctor_open

SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000) "
    "SELECT count(*) FROM c"
)


def write_lock_free(path: Path, wait_s: float) -> bool:
    """Whether another connection gets SQLite's write lock within `wait_s`."""
    conn = sqlite3.connect(path, timeout=wait_s, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


async def test_a_link_dropped_mid_write_does_not_lock_out_other_writers(
    server_factory: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, "drop")
    exam = await prepare_database(settings, candidates=2)
    server = await server_factory(settings)
    database = Path(str(make_url(settings.effective_database_url).database))

    slow_writes: list[float] = []
    slow_begun, slow_over = asyncio.Event(), asyncio.Event()
    real_save = changes.save_changes_many

    async def slow_save(session: Any, requests: Any, **kwargs: Any) -> Any:
        if slow_writes:  # only the first write is slow: the one the link dies under
            return await real_save(session, requests, **kwargs)
        slow_writes.append(time.monotonic())
        slow_begun.set()
        try:
            await session.execute(text(SLOW))
            return await real_save(session, requests, **kwargs)
        finally:  # over, or cancelled (which leaves the statement running in its thread)
            slow_over.set()

    pages = [
        PageCandidate(server.ws_url, p.ticket, p.id_number, seat=p.seat, name=f"seat{p.seat}")
        for p in exam.people
    ]
    for page in pages:
        page.start()
    await asyncio.gather(*(p.until_logins(1) for p in pages))
    console, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(console, "start")
    await console.close()
    await asyncio.gather(*(p.until_paper() for p in pages))
    dropped, other = pages

    monkeypatch.setattr(changes, "save_changes_many", slow_save)
    item = dropped.paper[0]
    dropped.answer(item["item_id"], pick(item, 0))
    await asyncio.wait_for(slow_begun.wait(), timeout=10)
    await asyncio.sleep(0.1)  # the slow statement is running in the database thread
    await dropped.power_off()  # the link dies under it

    await asyncio.wait_for(slow_over.wait(), timeout=10)
    assert await asyncio.to_thread(write_lock_free, database, 2.0), "write lock still held"
    began = time.monotonic()
    item = other.paper[0]
    other.answer(item["item_id"], pick(item, 1))
    await other.until_all_acked(limit_s=40)
    assert time.monotonic() - began < 3, "the next writer waited for a lock"
    await other.stop()
