"""Sockets that never log in: closed at the login deadline whatever pings and pongs pass,
and capped per client address and in all, so one lab PC cannot use up the server's file
descriptors (issue 18)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from cbt_server.protocol import SUBPROTOCOL
from cbt_server.settings import Settings
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam
from tests.runtime.wsclient import Client, candidate_login, proctor_open
from tests.waiting import wait_until


async def idle(
    server_ws: str, address: str = "127.0.0.1", path: str = "/ws/candidate", **extra: Any
) -> ClientConnection:
    """A socket from `address` that upgrades and then says nothing; it answers pings."""
    return await connect(
        f"{server_ws}{path}",
        subprotocols=[Subprotocol(SUBPROTOCOL)],
        local_addr=(address, 0),
        ping_interval=None,  # the server pings; this client only answers (pong)
        open_timeout=10,
        **extra,
    )


async def test_the_login_deadline_counts_from_the_upgrade_though_pongs_keep_coming(
    exam_server_factory: ExamServerFactory,
    sqlite_settings: Settings,
    exam: Exam,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cbt_server.runtime import ws_common, ws_connection

    # The real order of things: pings far more often than the deadline.
    monkeypatch.setattr(ws_common, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setattr(ws_connection, "HELLO_TIMEOUT_SECONDS", 1.0)
    server = await exam_server_factory(sqlite_settings)
    socket = await idle(server.ws_url)
    opened = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        # The server sends nothing but pings, which the library answers.
        await asyncio.wait_for(socket.recv(), timeout=10)
    took = time.monotonic() - opened
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason == "no login"
    assert took < 5, f"closed after {took:.1f} s, the deadline is 1 s"
    # A console's socket the same (it is signed in by cookie, but has not said hello).
    proctor = await idle(
        server.ws_url,
        path="/ws/proctor",
        additional_headers={"Cookie": f"cbt_staff={exam.proctor_cookie}"},
    )
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(proctor.recv(), timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # A login within the deadline is not cut off by it.
    person = exam.people[0]
    client, _ = await candidate_login(server.ws_url, person.ticket, person.id_number)
    until = time.monotonic() + 1.5
    while time.monotonic() < until:
        await client.send({"type": "ping"})
        await client.expect("pong", wait=10)
    await client.close()


async def refused(server_ws: str, address: str) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as refusal:
        await idle(server_ws, address)
    return refusal.value


async def health(base_url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/healthz") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


async def test_sockets_not_logged_in_are_capped_per_address_and_in_all(
    exam_server_factory: ExamServerFactory, sqlite_settings: Settings, exam: Exam
) -> None:
    server = await exam_server_factory(
        sqlite_settings.replace(ws_pending_per_address=3, ws_pending_total=5)
    )
    first = [await idle(server.ws_url, "127.0.0.1") for _ in range(3)]
    refusal = await refused(server.ws_url, "127.0.0.1")
    assert refusal.response.status_code == 429
    assert b"have not logged in yet" in refusal.response.body
    assert b"rate_limited" in refusal.response.body
    # Another PC is not held back by this one's sockets...
    others = [await idle(server.ws_url, "127.0.0.2") for _ in range(2)]
    # ...until the server's total is reached, for everyone.
    refusal = await refused(server.ws_url, "127.0.0.3")
    assert refusal.response.status_code == 503
    assert b"waiting to log in" in refusal.response.body
    body = await health(server.base_url)
    assert body["websockets"] == 5 and body["websockets_not_logged_in"] == 5
    assert isinstance(body["open_files"], int) and body["open_files"] > 5
    assert isinstance(body["open_files_limit"], int)
    # A socket that logs in leaves the count of those that have not: room for one more.
    person = exam.people[0]
    client = Client(others.pop())
    await client.send(
        {
            "type": "hello",
            "protocol": SUBPROTOCOL,
            "ticket": person.ticket,
            "id_number": person.id_number,
        }
    )
    await client.expect("state")
    body = await health(server.base_url)
    assert body["websockets"] == 5 and body["websockets_not_logged_in"] == 4
    third = await idle(server.ws_url, "127.0.0.3")
    # A closed socket frees its place too.
    await first[0].close()

    async def not_logged_in() -> int:
        return int((await health(server.base_url))["websockets_not_logged_in"])

    await wait_until(lambda: _equals(not_logged_in(), 4), "the closed socket to leave the count")
    fourth = await idle(server.ws_url, "127.0.0.1")
    for socket in (*first[1:], *others, third, fourth):
        await socket.close()
    await client.close()
    # The proctor's console counts as logged in once it watches a room.
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await wait_until(lambda: _equals(not_logged_in(), 0), "every socket closed or logged in")
    await proctor.close()


async def _equals(count: Awaitable[int], expected: int) -> bool:
    return await count == expected
