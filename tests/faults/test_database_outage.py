"""Fault: the database is unreachable for a few seconds while candidates answer.

PostgreSQL: the test's own cluster is stopped with `pg_ctl stop -m immediate` (every
connection dies at once) and started again. SQLite: another connection holds the write
lock (`BEGIN EXCLUSIVE`), as a backup tool or a stuck process would.

Checked: no answer is acknowledged while the database cannot take it (the page gets
`unavailable`, or no ack until it can); the pages keep what is not acknowledged and send
it again; nothing acknowledged is lost; the server recovers by itself (same process,
events flow again) without a restart.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.faults.checks import losses_in_rows, stored_answers
from tests.faults.conftest import Room, RoomFactory, keep_answering, open_room
from tests.faults.page import PageCandidate
from tests.runtime.wsclient import Client, candidate_login

OUTAGE_S = 5.0


def total_acked(room: Room) -> int:
    return sum(len(p.ledger.acked) for p in room.pages)


def acked_while_down(page: PageCandidate, down_from: float, down_until: float) -> list[int]:
    """Messages first sent after the database went away and acknowledged before it was
    back: each would be an acknowledgement of something that was not committed."""
    return [
        seq
        for seq, sent_at in page.ledger.first_sent_at.items()
        if down_from < sent_at < down_until
        and page.ledger.acked_at.get(seq, float("inf")) < down_until
    ]


async def settle_and_check(room: Room, stop: asyncio.Event, tasks: list[asyncio.Task[None]]):
    """Let answering go on a little, stop it, wait for every page to be acknowledged,
    then compare every page's ledger with the database."""
    await asyncio.sleep(3)
    stop.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(p.until_all_acked(limit_s=90) for p in room.pages))
    ids = {p.name: person.id for p, person in zip(room.pages, room.exam.people, strict=True)}
    stored = await stored_answers(room.settings, ids.values())
    problems: list[str] = []
    for page in room.pages:
        rows = stored[ids[page.name]]
        problems += losses_in_rows(page.name, page.ledger.acked, page.ledger.sent, rows)
        final = {item: sorted(row.response) for item, row in rows.items()}
        if final != {item: sorted(r) for item, r in page.intended().items()}:
            problems.append(f"{page.name}: stored answers differ from the candidate's choices")
    assert not problems, "\n".join(problems[:20])


async def events_still_flow(room: Room) -> None:
    """A proctor's pause reaches the candidate's page: the server's event path (on
    PostgreSQL, its LISTEN connection) is back."""
    page = room.pages[0]
    target = room.exam.people[0].id
    await room.proctor("pause", candidate_id=target, reason="检查设备 equipment check")
    await page.until(lambda: page.paused, 15, "the proctor's pause")
    await room.proctor("resume", candidate_id=target)
    await page.until(lambda: not page.paused, 15, "the proctor's resume")


async def test_postgresql_stopped_and_started_again(room_factory: RoomFactory) -> None:
    room = await room_factory("postgresql", candidates=10)
    assert room.cluster is not None
    await open_room(room)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(keep_answering(p, stop, seed=i)) for i, p in enumerate(room.pages)]
    await room.pages[0].until(lambda: total_acked(room) >= 40, 60, "answers acked")

    await room.cluster.stop()
    down_from = loop.time()
    await asyncio.sleep(OUTAGE_S)
    down_until = loop.time()
    await room.cluster.start()

    await settle_and_check(room, stop, tasks)
    for page in room.pages:
        assert acked_while_down(page, down_from, down_until) == [], page.name
    refused = [e for p in room.pages for e in p.errors if e["code"] == "unavailable"]
    assert refused, "no answer was refused while the database was down"
    assert room.server.running and room.server.starts == 1  # recovered without a restart
    await events_still_flow(room)


def sqlite_path(room: Room) -> Path:
    database = make_url(room.settings.effective_database_url).database
    assert database
    return Path(database)


@asynccontextmanager
async def write_lock_held(path: Path) -> AsyncIterator[None]:
    """Another process's connection holding SQLite's write lock (readers go on, WAL)."""
    conn = await asyncio.to_thread(
        sqlite3.connect, path, timeout=60, isolation_level=None, check_same_thread=False
    )
    try:
        await asyncio.to_thread(conn.execute, "BEGIN EXCLUSIVE")
        yield
    finally:
        await asyncio.to_thread(conn.execute, "ROLLBACK")
        await asyncio.to_thread(conn.close)


async def lock_sqlite_while_answering(room: Room, seconds: float) -> None:
    await open_room(room)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(keep_answering(p, stop, seed=i)) for i, p in enumerate(room.pages)]
    await room.pages[0].until(lambda: total_acked(room) >= 40, 60, "answers acked")
    async with write_lock_held(sqlite_path(room)):
        down_from = loop.time()
        await asyncio.sleep(seconds)
        down_until = loop.time()
    await settle_and_check(room, stop, tasks)
    for page in room.pages:
        assert acked_while_down(page, down_from, down_until) == [], page.name
    assert room.server.running and room.server.starts == 1
    await events_still_flow(room)


async def test_sqlite_write_lock_held_for_seconds(room_factory: RoomFactory) -> None:
    """Shorter than the busy timeout (30 s): writes wait, acks come late, none is lost."""
    room = await room_factory("sqlite", candidates=10)
    await lock_sqlite_while_answering(room, OUTAGE_S)


@pytest.mark.slow
async def test_sqlite_write_lock_held_past_the_busy_timeout(room_factory: RoomFactory) -> None:
    """Longer than the busy timeout: the waiting write fails with `unavailable`, the page
    sends it again under a fresh number, nothing is lost."""
    room = await room_factory("sqlite", candidates=10)
    await lock_sqlite_while_answering(room, 36)
    refused = [e for p in room.pages for e in p.errors if e["code"] == "unavailable"]
    assert refused, "no answer was refused during a lock longer than the busy timeout"


# --- a client that resends a refused answer under its old number -----------------------


async def reply_to(client: Client, seq: int, wait: float = 20) -> dict[str, Any]:
    """The ack of `seq`, or the error that refers to it, whichever comes first."""
    loop = asyncio.get_running_loop()
    until = loop.time() + wait
    while True:
        message = await client.recv(wait=max(0.1, until - loop.time()))
        if (message["type"] == "ack" and message["seq"] == seq) or (
            message["type"] == "error" and message.get("ref_seq") == seq
        ):
            return message


async def test_a_refused_answer_resent_under_its_old_number_is_never_acked_unstored(
    room_factory: RoomFactory,
) -> None:
    """Issue 4 says resending a sequence number is harmless. A client taking that to
    cover a *refused* answer resends it under its old number once later ones went
    through; the server must not acknowledge what it never stored."""
    room = await room_factory("postgresql", candidates=1)
    assert room.cluster is not None
    await room.server.start()
    person = room.exam.people[0]
    client, _ = await candidate_login(room.server.ws_url, person.ticket, person.id_number)
    await room.proctor("start")
    state = await client.expect("state")
    items = [i for s in state["paper"]["sections"] for i in s["items"]]
    first, second = items[0], items[1]
    refused_answer = {
        "type": "answer",
        "seq": 1,
        "item_id": first["item_id"],
        "response": ["true"] if first["type"] == "true_false" else [first["options"][0]["id"]],
    }

    await room.cluster.stop()
    await client.send(refused_answer)
    assert (await reply_to(client, 1))["code"] == "unavailable"
    await room.cluster.start()

    seq = 1
    while True:  # a later answer, sent again under fresh numbers until the server is back
        seq += 1
        response = ["false"] if second["type"] == "true_false" else [second["options"][1]["id"]]
        await client.send(
            {"type": "answer", "seq": seq, "item_id": second["item_id"], "response": response}
        )
        if (await reply_to(client, seq))["type"] == "ack":
            break
        assert seq < 50, "the server did not recover"
        await asyncio.sleep(0.3)

    await client.send(refused_answer)  # the old number, below the acknowledged mark
    reply = await reply_to(client, 1)
    stored = (await stored_answers(room.settings, [person.id]))[person.id]
    if reply["type"] == "ack":
        assert first["item_id"] in stored, "acknowledged an answer it never stored"
    assert reply["type"] == "error" and reply["code"] == "stale_seq", reply
    assert first["item_id"] not in stored
    await client.close()
