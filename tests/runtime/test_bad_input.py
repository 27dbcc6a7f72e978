"""Malformed, oversized and misplaced messages get an `error`; the session goes on."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cbt_server.db import models
from cbt_server.protocol import MAX_FRAME_BYTES, SUBPROTOCOL
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam, open_db
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open


async def started(server: LiveServer, exam: Exam) -> tuple[Client, dict[str, Any], Client]:
    person = exam.people[0]
    client, _ = await candidate_login(server.ws_url, person.ticket, person.id_number)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    return client, await client.expect("state"), proctor


async def test_garbage_is_answered_with_errors_and_the_exam_goes_on(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    client, state, proctor = await started(server, exam)
    single = state["paper"]["sections"][0]["items"][0]
    multiple = state["paper"]["sections"][1]["items"][0]
    item_id = single["item_id"]
    cases: list[tuple[str | bytes, str, int | None]] = [
        ("not json at all", "malformed", None),
        ("[1, 2, 3]", "malformed", None),
        ('{"no": "type"}', "malformed", None),
        (b"\x00\x01binary", "malformed", None),
        ('{"type": "launch", "seq": 50}', "unknown_type", 50),
        ('{"type": "start", "seq": 51}', "unknown_type", 51),  # a proctor command
        (
            '{"type": "answer", "seq": "52", "item_id": "x", "response": []}',
            "invalid_message",
            None,
        ),
        (
            json.dumps(
                {"type": "answer", "seq": 53, "item_id": item_id, "response": ["A"], "key": ["A"]}
            ),
            "invalid_message",
            53,
        ),
        (
            json.dumps(
                {"type": "answer", "seq": 54, "item_id": "someone-elses-item", "response": ["A"]}
            ),
            "unknown_item",
            54,
        ),
        (
            json.dumps({"type": "answer", "seq": 55, "item_id": item_id, "response": ["Z"]}),
            "invalid_response",
            55,
        ),
        (
            json.dumps(
                {
                    "type": "answer",
                    "seq": 56,
                    "item_id": item_id,
                    "response": [o["id"] for o in single["options"][:2]],
                }
            ),
            "invalid_response",
            56,
        ),
        (
            json.dumps({"type": "flag", "seq": 57, "item_id": "nope", "flagged": True}),
            "unknown_item",
            57,
        ),
        (
            json.dumps({"type": "hello", "protocol": SUBPROTOCOL, "ticket": "x", "id_number": "y"}),
            "unexpected",
            None,
        ),
        ('{"type": "ping", "pad": "' + "x" * (MAX_FRAME_BYTES + 10) + '"}', "too_large", None),
        (
            json.dumps(
                {
                    "type": "answer",
                    "seq": 58,
                    "item_id": item_id,
                    "response": ["A"] * 2,
                    "pad": "考" * 6000,
                }
            ),
            "too_large",
            None,
        ),
    ]
    for frame, code, ref in cases:
        if isinstance(frame, bytes):
            await client.ws.send(frame)
        else:
            await client.send(frame)
        error = await client.expect("error")
        assert (error["code"], error["ref_seq"]) == (code, ref), (frame[:80], error)
        assert error["message"]
    # Still logged in, still answering: a valid answer after all that is acknowledged.
    choice = [multiple["options"][0]["id"], multiple["options"][1]["id"]]
    await client.send(
        {"type": "answer", "seq": 60, "item_id": multiple["item_id"], "response": choice}
    )
    assert await client.expect("ack", seq=60) == {"type": "ack", "seq": 60}
    await client.send({"type": "ping"})
    assert (await client.expect("pong"))["server_time"]

    async with open_db(sqlite_settings) as db:
        rows = list(await db.scalars(select(models.Answer)))
    # Nothing refused was stored; the valid answer was, in canonical (sorted) form.
    assert [(r.item_id, r.response, r.seq) for r in rows] == [
        (multiple["item_id"], sorted(choice), 60)
    ]
    await client.close()
    await proctor.close()


async def test_messages_before_login(server: LiveServer, exam: Exam) -> None:
    client = await Client.open(f"{server.ws_url}/ws/candidate")
    await client.send({"type": "answer", "seq": 1, "item_id": "x", "response": []})
    error = await client.expect("error")
    assert (error["code"], error["ref_seq"]) == ("hello_required", 1)
    await client.send({"type": "ping"})
    await client.expect("pong")
    person = exam.people[0]
    await client.send(
        {
            "type": "hello",
            "protocol": "cbt.v9",
            "ticket": person.ticket,
            "id_number": person.id_number,
        }
    )
    assert (await client.expect("error"))["code"] == "unsupported_version"
    with pytest.raises(ConnectionClosed) as closed:
        await client.recv(wait=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1002


async def test_subprotocol_is_required(server: LiveServer) -> None:
    client = await Client.open(f"{server.ws_url}/ws/candidate", subprotocols=[])
    error = await client.recv()
    assert error["code"] == "unsupported_version"
    with pytest.raises(ConnectionClosed):
        await client.recv(wait=5)
    other = await Client.open(f"{server.ws_url}/ws/candidate", subprotocols=["cbt.v2"])
    assert (await other.recv())["code"] == "unsupported_version"


async def test_foreign_origin_is_refused_before_the_upgrade(server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await Client.open(f"{server.ws_url}/ws/candidate", origin="http://evil.example")
    assert refused.value.response.status_code == 403
    own = await Client.open(f"{server.ws_url}/ws/candidate", origin=server.base_url)
    await own.send({"type": "ping"})
    await own.expect("pong")
    await own.close()


async def upgrade_status(url: str, origin: str, host: str | None = None) -> int:
    """The HTTP status of an upgrade with this Origin (and Host) header: 101 if it opens."""
    headers = {"Origin": origin} | ({"Host": host} if host else {})
    async with aiohttp.ClientSession() as http:
        try:
            async with http.ws_connect(url, protocols=(SUBPROTOCOL,), headers=headers) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status


async def test_a_dns_rebinding_page_is_refused_and_the_sites_origins_accepted(
    exam_server_factory: ExamServerFactory, sqlite_settings: Settings, exam: Exam
) -> None:
    """A page at http://evil.example:PORT whose name the attacker pointed at the server
    sends a matching Host; the check compares with the site's origins, never with Host."""
    server = await exam_server_factory(
        sqlite_settings.replace(public_origins=("http://cbt.school.lan:8080",))
    )
    url = f"{server.ws_url}/ws/candidate"
    port = server.base_url.rsplit(":", 1)[1]
    rebound = f"evil.example:{port}"
    assert await upgrade_status(url, f"http://{rebound}", host=rebound) == 403
    assert await upgrade_status(url, f"https://{rebound}", host=rebound) == 403
    # The address the PC connected to, as typed in its address bar, and its port only.
    assert await upgrade_status(url, f"http://127.0.0.1:{port}") == 101
    assert await upgrade_status(url, f"http://localhost:{port}", host=f"localhost:{port}") == 101
    assert await upgrade_status(url, "http://127.0.0.1:1") == 403
    assert await upgrade_status(url, f"http://127.0.0.2:{port}") == 403
    # A site reached by name lists it; the name then works behind any Host.
    assert await upgrade_status(url, "HTTP://cbt.school.lan:8080", host="cbt.school.lan") == 101
    assert await upgrade_status(url, "http://cbt.school.lan") == 403
    assert await upgrade_status(url, "null") == 403


async def test_oversized_beyond_the_hard_limit_closes_only_that_connection(
    server: LiveServer, exam: Exam
) -> None:
    client, state, proctor = await started(server, exam)
    hog = await Client.open(f"{server.ws_url}/ws/candidate")
    with contextlib.suppress(ConnectionClosed):
        await hog.ws.send("x" * (4 * 1024 * 1024))
    with pytest.raises(ConnectionClosed) as closed:
        await hog.recv(wait=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # too big
    item = state["paper"]["sections"][2]["items"][0]
    await client.send(
        {"type": "answer", "seq": 1, "item_id": item["item_id"], "response": ["false"]}
    )
    await client.expect("ack", seq=1)
    await client.close()
    await proctor.close()


async def test_proctor_socket_needs_a_signed_in_staff_member(
    server: LiveServer, exam: Exam
) -> None:
    with pytest.raises(InvalidStatus) as anonymous:
        await Client.open(f"{server.ws_url}/ws/proctor")
    assert anonymous.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as forged:
        await Client.open(f"{server.ws_url}/ws/proctor", headers={"Cookie": "cbt_staff=forged"})
    assert forged.value.response.status_code == 401


async def test_supervisor_watches_but_cannot_command(server: LiveServer, exam: Exam) -> None:
    supervisor, room = await proctor_open(server.ws_url, exam.supervisor_cookie, exam.session_id)
    assert room["state"] == "checkin"
    await supervisor.send({"type": "start", "seq": 1})
    refused = await supervisor.expect("error", ref_seq=1)
    assert refused["code"] == "forbidden"
    await supervisor.send({"type": "note", "seq": 2, "text": "督导到场"})
    assert (await supervisor.expect("error", ref_seq=2))["code"] == "forbidden"
    await supervisor.close()


async def test_proctor_of_another_session_is_refused(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    from cbt_server.content_crypto import ContentCipher
    from cbt_server.db.engine import make_engine, make_sessionmaker
    from tests.runtime.exam_setup import build_exam

    engine = make_engine(sqlite_settings.effective_database_url)
    try:
        other = await build_exam(
            make_sessionmaker(engine),
            ContentCipher.from_data_dir(sqlite_settings.data_path),
            candidates=1,
            code="S-02",
            with_bank=False,
        )
    finally:
        await engine.dispose()
    client = await Client.open(
        f"{server.ws_url}/ws/proctor", headers={"Cookie": f"cbt_staff={other.proctor_cookie}"}
    )
    await client.send({"type": "hello", "protocol": SUBPROTOCOL, "session_id": exam.session_id})
    assert (await client.expect("error"))["code"] == "forbidden"
    # Commands before a successful hello go nowhere.
    await client.send({"type": "start", "seq": 1})
    assert (await client.expect("error", ref_seq=1))["code"] == "hello_required"
    await client.close()


async def test_a_connection_that_never_logs_in_is_closed(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cbt_server.runtime import ws_connection

    monkeypatch.setattr(ws_connection, "HELLO_TIMEOUT_SECONDS", 0.5)
    idle = await Client.open(f"{server.ws_url}/ws/candidate")
    await idle.send({"type": "ping"})
    await idle.expect("pong")
    with pytest.raises(ConnectionClosed) as closed:
        await idle.recv(wait=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
