"""Several server processes on one PostgreSQL database: commands cross processes.

Real OS processes (`python -m cbt_server.runtime.workers`), so nothing is shared but the
database: a pause given to one process reaches a candidate connected to the other only
through LISTEN/NOTIFY.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from cbt_server.settings import Settings, load_settings
from tests.conftest import free_port
from tests.runtime.exam_setup import open_db, prepare_database
from tests.runtime.wsclient import candidate_login, command, proctor_open, seat_until
from tests.waiting import wait_until

pytestmark = [pytest.mark.pg, pytest.mark.slow]

Spawn = Callable[..., Awaitable[str]]


@pytest.fixture
def pg_settings(tmp_path: Path, pg_url: str) -> Settings:
    return load_settings({}, data_dir=str(tmp_path / "data"), database_url=pg_url)


@pytest.fixture
async def spawn(pg_settings: Settings) -> AsyncIterator[Spawn]:
    """Start server processes; returns their ws:// base URL once /healthz answers."""
    processes: list[subprocess.Popen[bytes]] = []

    async def start(workers: int = 1, port: int | None = None) -> str:
        port = port or free_port()
        env = {
            **os.environ,
            "CBT_DATABASE_URL": pg_settings.database_url,
            "CBT_DATA_DIR": pg_settings.data_dir,
            "CBT_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on below
            [
                sys.executable,
                "-m",
                "cbt_server.runtime.workers",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        processes.append(process)
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                assert process.poll() is None, "server process exited"
                try:
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            # Spawning and importing is slow on a busy machine.
            await wait_until(healthy, f"the server on port {port}", within=60, every=0.1)
        return f"ws://127.0.0.1:{port}"

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_pause_via_one_process_reaches_a_candidate_on_the_other(
    pg_settings: Settings, spawn: Spawn
) -> None:
    exam = await prepare_database(pg_settings, candidates=2)
    one, other = await spawn(), await spawn()
    person, neighbour = exam.people
    candidate, _ = await candidate_login(one, person.ticket, person.id_number)
    proctor, _ = await proctor_open(other, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")  # given on `other`
    state = await candidate.expect("state")  # received on `one`
    assert state["paper"] is not None

    await command(proctor, "pause", candidate_id=person.id, reason="跨进程暂停")
    paused = await candidate.expect("paused")
    assert (paused["scope"], paused["reason"]) == ("candidate", "跨进程暂停")
    await command(proctor, "resume", candidate_id=person.id)
    await candidate.expect("resumed")
    await command(proctor, "extra_time", candidate_id=person.id, seconds=60, reason="补时")
    assert (await candidate.expect("time"))["extra_ms"] == 60_000

    # The other way round: an answer on `one` shows on the console on `other`.
    item = state["paper"]["sections"][2]["items"][0]
    await candidate.send(
        {"type": "answer", "seq": 1, "item_id": item["item_id"], "response": ["true"]}
    )
    await candidate.expect("ack", seq=1)
    await seat_until(proctor, person.id, lambda seat: seat["answered"] == 1)

    # A seat change across processes: unlock on `other`, log in again on `other`, and
    # the old connection on `one` is closed.
    await command(proctor, "unlock", candidate_id=person.id, reason="换机")
    closing = asyncio.create_task(candidate.expect("closing"))
    moved, after = await candidate_login(other, person.ticket, person.id_number)
    assert after["answers"] == {item["item_id"]: ["true"]}
    assert (await closing)["reason"] == "logged_in_elsewhere"

    # A room pause from `one`'s side reaches a neighbour on `one` and `moved` on `other`.
    neighbour_client, _ = await candidate_login(one, neighbour.ticket, neighbour.id_number)
    console_one, _ = await proctor_open(one, exam.proctor_cookie, exam.session_id)
    await command(console_one, "pause", reason="全场暂停")
    assert (await moved.expect("paused"))["scope"] == "room"
    assert (await neighbour_client.expect("paused"))["scope"] == "room"
    for client in (moved, neighbour_client, proctor, console_one):
        await client.close()
    async with open_db(pg_settings) as db:
        # The second process started while the first was alive: no downtime invented.
        assert await db.scalar(text("SELECT count(*) FROM downtimes")) == 0


async def test_workers_share_one_port(pg_settings: Settings, spawn: Spawn) -> None:
    exam = await prepare_database(pg_settings, candidates=4)
    base = await spawn(workers=2)
    async with open_db(pg_settings) as db:

        async def two_listening() -> bool:
            listeners = await db.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name LIKE 'cbt:%'"
                )
            )
            await db.rollback()  # statistics are a snapshot per transaction
            return listeners == 2

        # Two worker processes, each listening for events.
        await wait_until(two_listening, "two worker processes listening", within=60, every=0.1)
    proctor, _ = await proctor_open(base, exam.proctor_cookie, exam.session_id)
    clients = [(await candidate_login(base, p.ticket, p.id_number))[0] for p in exam.people]
    await command(proctor, "start")
    for client in clients:
        await client.expect("state")
    await command(proctor, "pause", reason="全场暂停")
    for client in clients:
        assert (await client.expect("paused"))["scope"] == "room"
    for client in [*clients, proctor]:
        await client.close()
