"""Every proctor WebSocket command × every kind of staff user, on a live room."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from websockets.exceptions import InvalidStatus

from cbt_server import audit
from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.types import utcnow
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.console.room import Room
from tests.runtime.wsclient import Client, candidate_login

RUNS = {"leader", "proctor"}  # may command S1
WATCHES = {"leader", "proctor", "admin", "supervisor"}  # may watch S1


async def reply(client: Client, seq: int) -> dict[str, Any]:
    while True:
        message = await client.recv()
        if message.get("seq") == seq or message.get("ref_seq") == seq:
            return message


async def console(server: LiveServer, room: Room, who: str) -> Client:
    return await Client.open(
        f"{server.ws_url}/ws/proctor", headers={"Cookie": f"cbt_staff={room.cookies[who]}"}
    )


async def hello(client: Client, session_id: int) -> dict[str, Any]:
    await client.send({"type": "hello", "protocol": SUBPROTOCOL, "session_id": session_id})
    while True:
        message = await client.recv()
        if message["type"] in ("room", "error"):
            return message


async def test_anonymous_console_is_refused(room_server: LiveServer, room: Room) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await Client.open(f"{room_server.ws_url}/ws/proctor")
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as forged:
        await Client.open(
            f"{room_server.ws_url}/ws/proctor", headers={"Cookie": "cbt_staff=" + "x" * 43}
        )
    assert forged.value.response.status_code == 401


@pytest.mark.parametrize("who", ["admin", "leader", "proctor", "outsider", "supervisor", "visitor"])
async def test_watching_s1(room_server: LiveServer, room: Room, who: str) -> None:
    client = await console(room_server, room, who)
    try:
        first = await hello(client, room.exam.session_id)
        if who in WATCHES:
            assert first["type"] == "room"
            assert len(first["candidates"]) == len(room.exam.people)
        else:
            assert (first["type"], first["code"]) == ("error", "forbidden")
            # The same console may still watch the session it is assigned to.
            assert (await hello(client, room.other_id))["type"] == "room"
    finally:
        await client.close()


@pytest.mark.parametrize("who", ["admin", "leader", "proctor", "supervisor"])
async def test_every_command(
    room_server: LiveServer, room: Room, room_settings: Settings, who: str
) -> None:
    """Those who run S1 get every command acknowledged (a full, valid sequence); those who
    only watch get `forbidden` for each, and nothing changes."""
    people = room.exam.people
    client = await console(room_server, room, who)
    candidates: list[Client] = []
    try:
        assert (await hello(client, room.exam.session_id))["type"] == "room"
        c1, c2, c3 = (p.id for p in people[:3])
        steps: list[dict[str, Any]] = [
            {"type": "open_checkin"},
            "login",  # type: ignore[list-item]
            {"type": "start"},
            {"type": "pause", "candidate_id": c1, "reason": "电脑死机"},
            {"type": "resume", "candidate_id": c1, "reason": ""},
            {"type": "extra_time", "candidate_id": c1, "seconds": 300, "reason": "补偿"},
            {"type": "unlock", "candidate_id": c1, "reason": "换到 9 号机"},
            {"type": "note", "text": "考场秩序良好"},
            {"type": "pause", "candidate_id": None, "reason": "停电"},
            {"type": "resume", "candidate_id": None, "reason": "来电"},
            {"type": "force_submit", "candidate_id": c2, "reason": "违纪"},
            {"type": "mark_absent", "candidate_id": c3, "reason": "未到场"},
        ]
        outcomes = []
        for step in steps:
            if step == "login":
                if who in RUNS:  # candidates log in once check-in is open
                    for person in people[:2]:
                        cand, _ = await candidate_login(
                            room_server.ws_url, person.ticket, person.id_number
                        )
                        candidates.append(cand)
                continue
            seq = await client.next_seq()
            await client.send({**step, "seq": seq})
            answer = await reply(client, seq)
            outcomes.append((step["type"], answer["type"], answer.get("code")))
        if who in RUNS:
            assert all(kind == "ack" for _, kind, _ in outcomes), outcomes
        else:
            assert all(code == "forbidden" for _, _, code in outcomes), outcomes
    finally:
        for cand in candidates:
            await cand.close()
        await client.close()
    engine = make_engine(room_settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            entries = await audit.entries_for_session(db, "S1")
            actions = [e.action for e in entries if e.actor == who]
            report = await audit.verify_chain(db)
    finally:
        await engine.dispose()
    assert report.intact
    if who in RUNS:
        assert actions == [
            "session.open_checkin",
            "session.start",
            "candidate.pause",
            "candidate.resume",
            "candidate.extra_time",
            "candidate.unlock",
            "session.note",
            "session.pause",
            "session.resume",
            "candidate.force_submit",
            "candidate.absent",
        ]
    else:
        assert actions == []


async def test_commands_after_logout_are_refused(
    room_server: LiveServer, room: Room, room_settings: Settings
) -> None:
    client = await console(room_server, room, "leader")
    try:
        assert (await hello(client, room.exam.session_id))["type"] == "room"
        engine = make_engine(room_settings.effective_database_url)
        try:
            async with make_sessionmaker(engine).begin() as db:
                await db.execute(
                    update(models.StaffSession)
                    .where(models.StaffSession.user_id == room.users["leader"])
                    .values(revoked_at=utcnow())
                )
        finally:
            await engine.dispose()
        seq = await client.next_seq()
        await client.send({"type": "open_checkin", "seq": seq})
        answer = await reply(client, seq)
        assert (answer["type"], answer["code"]) == ("error", "not_authenticated")
    finally:
        await client.close()
    engine = make_engine(room_settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            state = await db.scalar(
                select(models.ExamSession.state).where(models.ExamSession.code == "S1")
            )
    finally:
        await engine.dispose()
    assert state == "scheduled"
