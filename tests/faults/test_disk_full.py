"""Fault: the disk fills up during an exam (SQLite on the server's only disk; issue 18).

The write statements of the server's engine fail as SQLite fails them on a full file
system (`tests/faults/diskfull.py`) while candidates keep answering. Checked: every
change is refused with `unavailable` naming the full disk, none is acknowledged and
nothing of it is written (the answers' writes that did run are rolled back with the
rest); the console gets a `disk_full` alarm at once, and it clears once writes go
through again; the pages keep their changes and, the space freed, everything is stored.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from cbt_server.db import models
from cbt_server.keys import ENGINE, RUNTIME
from cbt_server.settings import load_settings
from tests.conftest import ServerFactory
from tests.faults.checks import losses_in_rows, stored_answers
from tests.faults.diskfull import DiskFull
from tests.faults.page import PageCandidate, pick
from tests.runtime.exam_setup import open_db, prepare_database, settings_for
from tests.runtime.wsclient import Client, command, proctor_open
from tests.waiting import wait_until

FULL_S = 4.0


async def candidate_rows(settings: Any, ids: list[int]) -> dict[int, tuple[int, str]]:
    """candidate id -> (acked_seq, state), straight from the database."""
    async with open_db(settings) as db:
        rows = await db.scalars(select(models.Candidate).where(models.Candidate.id.in_(ids)))
        return {row.id: (row.acked_seq, row.state) for row in rows}


async def next_alarms(console: Client, wait: float = 15) -> list[dict[str, Any]]:
    message = await console.expect("alarms", wait=wait)
    alarms: list[dict[str, Any]] = message["alarms"]
    return alarms


async def test_a_full_disk_refuses_changes_whole_and_they_are_saved_once_freed(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, "full")
    exam = await prepare_database(settings, candidates=3)
    server = await server_factory(settings)
    disk = DiskFull(server.app[ENGINE])
    server.app[RUNTIME].alarms.clear_after = 1.0  # the test need not wait the full 10 s
    pages = [
        PageCandidate(server.ws_url, p.ticket, p.id_number, seat=p.seat, name=f"seat{p.seat}")
        for p in exam.people
    ]
    for page in pages:
        page.start()
    await asyncio.gather(*(p.until_logins(1) for p in pages))
    console, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(console, "start")
    await asyncio.gather(*(p.until_paper() for p in pages))
    for page in pages:  # one answer each goes through before the disk fills
        page.answer(page.paper[0]["item_id"], pick(page.paper[0], 0))
    await asyncio.gather(*(p.until_all_acked() for p in pages))
    ids = [p.id for p in exam.people]
    before_rows = await candidate_rows(settings, ids)
    before = await stored_answers(settings, ids)
    acked_before = {page.name: set(page.ledger.acked) for page in pages}

    disk.full = True
    for round_ in range(3):
        for n, page in enumerate(pages):
            item = page.paper[1 + (round_ + n) % (len(page.paper) - 1)]
            page.answer(item["item_id"], pick(item, round_ + 1))
        await asyncio.sleep(FULL_S / 3)
    alarms = await next_alarms(console)
    assert [a["code"] for a in alarms] == ["disk_full"]
    assert "磁盘已满" in alarms[0]["detail"]
    # Refused, with the reason; nothing acknowledged; nothing written, not even half.
    await wait_until(
        lambda: all(any(e["code"] == "unavailable" for e in p.errors) for p in pages),
        "every page to be refused",
        within=15,
    )
    refusals = [e for p in pages for e in p.errors]
    assert {e["code"] for e in refusals} == {"unavailable"}
    assert all("disk is full" in e["message"] for e in refusals)
    assert {page.name: set(page.ledger.acked) for page in pages} == acked_before
    assert disk.refused > 0 and disk.passed_through > 0  # some writes got half-way
    assert await stored_answers(settings, ids) == before
    assert await candidate_rows(settings, ids) == before_rows
    assert all(page.outbox for page in pages)  # kept on the PCs

    disk.full = False  # space freed
    await asyncio.gather(*(p.until_all_acked(limit_s=60) for p in pages))
    assert await next_alarms(console) == []  # the alarm cleared by itself
    stored = await stored_answers(settings, ids)
    problems: list[str] = []
    for page, person in zip(pages, exam.people, strict=True):
        rows = stored[person.id]
        problems += losses_in_rows(page.name, page.ledger.acked, page.ledger.sent, rows)
        final = {item: sorted(row.response) for item, row in rows.items()}
        if final != {item: sorted(r) for item, r in page.intended().items()}:
            problems.append(f"{page.name}: stored answers differ from the candidate's choices")
    assert not problems, "\n".join(problems)
    assert all(len(stored[i]) == 4 for i in ids)  # the first answer and the three kept
    await console.close()
    for page in pages:
        await page.stop()


async def test_a_console_opened_during_the_fault_sees_the_alarm(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, "full2")
    exam = await prepare_database(settings, candidates=1)
    server = await server_factory(settings)
    disk = DiskFull(server.app[ENGINE])
    disk.full = True
    # The heartbeat (every 2 s) is a write too: the alarm rises with no candidate answering.
    await wait_until(lambda: server.app[RUNTIME].alarms.active(), "the alarm", within=10)
    console, room = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    assert room["type"] == "room"
    assert [a["code"] for a in await next_alarms(console, wait=5)] == ["disk_full"]
    await console.close()


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 4 MiB file system of the test's own (a tmpfs; mounting one needs root)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root; the injected fault above runs anywhere")
    where = Path(tempfile.mkdtemp(prefix="cbt-small-disk-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


def fill(where: Path) -> Path:
    """Take every free byte of the file system `where` is on; the filler file."""
    filler = where / "filler"
    chunk = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    out.write(chunk[:size])
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    return filler


async def test_a_really_full_file_system(
    server_factory: ServerFactory, tmp_path: Path, small_disk: Path
) -> None:
    settings = load_settings(
        {},
        data_dir=str(tmp_path / "data"),
        database_url=f"sqlite+aiosqlite:///{small_disk / 'cbt.sqlite3'}",
    )
    exam = await prepare_database(settings, candidates=3)
    server = await server_factory(settings)
    server.app[RUNTIME].alarms.clear_after = 1.0
    pages = [
        PageCandidate(server.ws_url, p.ticket, p.id_number, seat=p.seat, name=f"seat{p.seat}")
        for p in exam.people
    ]
    for page in pages:
        page.start()
    await asyncio.gather(*(p.until_logins(1) for p in pages))
    console, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(console, "start")
    await asyncio.gather(*(p.until_paper() for p in pages))

    filler = fill(small_disk)
    # Answer item after item until the disk refuses (the WAL may take some first).
    alarmed = asyncio.create_task(next_alarms(console, wait=120))
    n = 0
    while not alarmed.done() and n < 4000:
        for page in pages:
            item = page.paper[n % len(page.paper)]
            page.answer(item["item_id"], pick(item, n // len(page.paper)))
        n += 1
        await asyncio.sleep(0.02)
    assert [a["code"] for a in await alarmed] == ["disk_full"]
    await wait_until(
        lambda: any(e["code"] == "unavailable" for p in pages for e in p.errors),
        "a change refused",
        within=15,
    )
    refusals = [e for p in pages for e in p.errors if e["code"] == "unavailable"]
    assert all("disk is full" in e["message"] for e in refusals), refusals[:3]
    assert any(page.outbox for page in pages)  # kept on the PCs

    filler.unlink()  # space freed
    await asyncio.gather(*(p.until_all_acked(limit_s=60) for p in pages))
    assert await next_alarms(console) == []
    stored = await stored_answers(settings, [p.id for p in exam.people])
    problems: list[str] = []
    for page, person in zip(pages, exam.people, strict=True):
        rows = stored[person.id]
        problems += losses_in_rows(page.name, page.ledger.acked, page.ledger.sent, rows)
        final = {item: sorted(row.response) for item, row in rows.items()}
        if final != {item: sorted(r) for item, r in page.intended().items()}:
            problems.append(f"{page.name}: stored answers differ from the candidate's choices")
    assert not problems, "\n".join(problems)
    async with open_db(settings) as db:
        assert (await db.execute(text("PRAGMA integrity_check"))).scalar() == "ok"
    await console.close()
    for page in pages:
        await page.stop()
