"""Lab PCs over real sockets: agents register from several loopback addresses (Linux
routes all of 127.0.0.0/8 to lo, so a client bound to 127.0.0.3 is another PC to the
server), a rule maps them to seats, candidates are held to their seat's PC, and focus
loss reaches the proctor's seat card and the room record."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from cbt_server.auth.config import AuthConfig
from cbt_server.auth.sessions import open_session
from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.keys import SESSIONMAKER
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.settings import Settings
from cbt_server.tokens import create_token
from lab_agent import seat as agent_seat
from lab_agent.link import LabClient, RefusedError
from tests.conftest import LiveServer
from tests.lab_agent.reports import report
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam, prepare_database
from tests.runtime.wsclient import Client, command, proctor_open

ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
"""Seats 1-3 of the room and its spare."""


@dataclass
class Lab:
    live: LiveServer
    exam: Exam
    token: str
    admin_cookie: str
    admin_csrf: str

    @property
    def room(self) -> str:
        return f"R-{self.exam.code}"

    def admin(self, **extra: str) -> dict[str, str]:
        return {"Cookie": f"cbt_staff={self.admin_cookie}", "X-CSRF-Token": self.admin_csrf}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, self.live.base_url + path, json=body, headers=self.admin()) as r,
        ):
            return r.status, await r.json()


async def _admin(live: LiveServer) -> tuple[str, str]:
    async with live.app[SESSIONMAKER].begin() as session:
        user = models.User(
            username="lab", display_name="机房管理员", role="lab_admin", password_hash="!"
        )
        session.add(user)
        await session.flush()
        secret, row = await open_session(session, user, utcnow(), AuthConfig())
        return secret, row.csrf_token


@pytest.fixture
def lab_settings(settings: Settings) -> Settings:
    """SQLite, and PostgreSQL when CBT_TEST_PG_URL is set."""
    return settings.replace(sqlite_synchronous="NORMAL")


@pytest.fixture
async def lab(exam_server_factory: ExamServerFactory, lab_settings: Settings) -> Lab:
    exam = await prepare_database(lab_settings, candidates=3)
    live = await exam_server_factory(lab_settings)
    async with live.app[SESSIONMAKER].begin() as session:
        token = (await create_token(session, "lab-agents", "lab:report")).secret
    cookie, csrf = await _admin(live)
    return Lab(live, exam, token, cookie, csrf)


def body(n: int, **extra: Any) -> dict[str, Any]:
    """PC n's registration, as the agent builds it."""
    return agent_seat.registration(
        hostname=f"LAB-{n:02d}",
        macs=[f"02:00:00:00:00:{n:02x}"],
        address=ADDRESSES[n - 1],
        os_name="Windows 10 (10.0.19045)",
        screen_size="1366x768",
        failing=["memory"] if n == 2 else [],
        room=extra.get("room"),
        seat=extra.get("seat"),
    )


def agent(lab: Lab, n: int) -> LabClient:
    return LabClient(lab.live.base_url, lab.token, source_address=ADDRESSES[n - 1])


async def register_all(lab: Lab) -> list[agent_seat.Registered]:
    done = []
    for n in range(1, 5):
        client = agent(lab, n)
        try:
            done.append(await asyncio.to_thread(agent_seat.register, client, body(n)))
        finally:
            client.close()
    return done


async def seat_of(lab: Lab, address: str) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get(lab.live.base_url + "/api/v1/lab/seat") as r,
    ):
        result: dict[str, Any] = await r.json()
        return result


async def test_agents_from_several_addresses_mapped_by_a_rule(lab: Lab) -> None:
    done = await register_all(lab)
    assert len({d.pc_id for d in done}) == 4
    status, view = await lab.call("GET", "/api/v1/lab/pcs")
    assert status == 200
    seen = {pc["hostname"]: pc["address"] for pc in view["pcs"]}
    assert seen == {f"LAB-{n:02d}": ADDRESSES[n - 1] for n in range(1, 5)}

    status, room = await lab.call(
        "POST", f"/api/v1/lab/rooms/{lab.room}/seats/rule", {"first": "127.0.0.2", "spares": 1}
    )
    assert status == 200, room
    placed = {pc["hostname"]: (pc["seat"], pc["spare"]) for pc in room["pcs"]}
    assert placed == {
        "LAB-01": (1, False),
        "LAB-02": (2, False),
        "LAB-03": (3, False),
        "LAB-04": (None, True),
    }
    assert room["unmapped_seats"] == []
    assert {pc["hostname"]: pc["failing"] for pc in room["pcs"]}["LAB-02"] == ["memory"]
    assert all(pc["online"] for pc in room["pcs"])
    # Each PC's page learns its seat from the server, by the address it comes from.
    for n, address in enumerate(ADDRESSES, start=1):
        answer = await seat_of(lab, address)
        assert answer["pc"] == f"LAB-{n:02d}"
        assert answer["seat"] == (n if n <= 3 else None)
        assert answer["exam_open"] is True  # the session is open for check-in
    assert (await seat_of(lab, "127.0.0.9"))["seat"] is None


async def test_heartbeat_and_a_stale_agent(lab: Lab) -> None:
    client = agent(lab, 1)
    try:
        first = await asyncio.to_thread(agent_seat.register, client, body(1))
        answer = await asyncio.to_thread(client.heartbeat, first.pc_id, first.agent_id)
        assert answer["seat"] is None
        second = await asyncio.to_thread(agent_seat.register, client, body(1))
        assert second.pc_id == first.pc_id
        # The PC's address changes (DHCP): its next beat moves the address with it.
        moved = LabClient(lab.live.base_url, lab.token, source_address="127.0.0.8")
        try:
            await asyncio.to_thread(moved.heartbeat, second.pc_id, second.agent_id)
        finally:
            moved.close()
        assert (await seat_of(lab, "127.0.0.8"))["pc"] is None  # in no room yet
        status, view = await lab.call("GET", "/api/v1/lab/pcs")
        assert view["pcs"][0]["address"] == "127.0.0.8"
        with pytest.raises(RefusedError) as stale:
            await asyncio.to_thread(client.heartbeat, first.pc_id, first.agent_id)
        assert stale.value.code == "stale_agent"
        with pytest.raises(RefusedError) as unknown:
            await asyncio.to_thread(client.heartbeat, 999, second.agent_id)
        assert unknown.value.code == "unknown_pc"
    finally:
        client.close()


async def test_bad_mappings_are_refused_whole(lab: Lab) -> None:
    await register_all(lab)
    url = f"/api/v1/lab/rooms/{lab.room}/seats"
    status, _ = await lab.call("POST", url + "/rule", {"first": "127.0.0.2", "spares": 1})
    assert status == 200
    before = (await lab.call("GET", url))[1]

    # A MAC already bound to another PC: a clone of LAB-01's disk under a new name.
    client = agent(lab, 1)
    try:
        clone = body(1) | {"hostname": "LAB-CLONE"}
        with pytest.raises(RefusedError) as bound:
            await asyncio.to_thread(agent_seat.register, client, clone)
        assert bound.value.code == "mac_bound"
        assert "LAB-01" in str(bound.value)
    finally:
        client.close()

    # Another machine (other MACs) under LAB-01's name would take over seat 1 and its
    # address: refused, LAB-01 keeps both.
    intruder = LabClient(lab.live.base_url, lab.token, source_address="127.0.0.9")
    try:
        stolen = body(1) | {"macs": ["02:00:00:00:00:77"]}
        with pytest.raises(RefusedError) as other_macs:
            await asyncio.to_thread(agent_seat.register, intruder, stolen)
        assert other_macs.value.code == "mac_bound"
        assert "LAB-01" in str(other_macs.value) and "forget" in str(other_macs.value)
    finally:
        intruder.close()
    assert (await seat_of(lab, "127.0.0.9"))["seat"] is None
    assert (await seat_of(lab, "127.0.0.2"))["pc"] == "LAB-01"

    hand = [{"hostname": "LAB-01", "seat": 3}]  # seat 3 is LAB-03's
    status, error = await lab.call("POST", url + "/hand", {"pcs": hand})
    assert (status, error["error"]["code"]) == (400, "duplicate_seat")
    assert "LAB-01" in error["error"]["message"] and "LAB-03" in error["error"]["message"]
    # A swap in one request is fine.
    swap = [{"hostname": "LAB-01", "seat": 3}, {"hostname": "LAB-03", "seat": 1}]
    status, view = await lab.call("POST", url + "/hand", {"pcs": swap})
    assert status == 200, view
    assert {p["hostname"]: p["seat"] for p in view["pcs"]}["LAB-01"] == 3
    back = [{"hostname": "LAB-01", "seat": 1}, {"hostname": "LAB-03", "seat": 3}]
    assert (await lab.call("POST", url + "/hand", {"pcs": back}))[0] == 200
    assert (await lab.call("GET", url))[1] == before
    status, error = await lab.call(
        "POST", url + "/hand", {"pcs": [{"hostname": "LAB-99", "seat": 1}]}
    )
    assert (status, error["error"]["code"]) == (404, "unknown_pc")
    status, error = await lab.call(
        "POST", url + "/hand", {"pcs": [{"hostname": "LAB-01", "seat": 9}]}
    )
    assert status == 400 and "seats 1 to 3" in error["error"]["message"]

    bad_file = dict(before)
    bad_file["pcs"] = [dict(p) for p in before["pcs"]]
    bad_file["pcs"][1]["seat"] = bad_file["pcs"][0]["seat"]
    bad_file["pcs"].append({"hostname": "LAB-NEW", "macs": ["02:00:00:00:00:99"], "seat": None})
    status, error = await lab.call("PUT", url, bad_file)
    assert (status, error["error"]["code"]) == (400, "duplicate_seat")
    assert (await lab.call("GET", url))[1] == before  # nothing half-applied
    status, pcs = await lab.call("GET", "/api/v1/lab/pcs")
    assert "LAB-NEW" not in {p["hostname"] for p in pcs["pcs"]}


async def test_the_map_survives_a_restart_and_comes_back_from_its_file(
    lab: Lab, exam_server_factory: ExamServerFactory, lab_settings: Settings
) -> None:
    await register_all(lab)
    url = f"/api/v1/lab/rooms/{lab.room}/seats"
    await lab.call("POST", url + "/rule", {"first": "127.0.0.2", "spares": 1})
    exported = (await lab.call("GET", url))[1]
    assert exported["format"] == "cbt-seat-map"
    assert [p["seat"] for p in exported["pcs"]] == [1, 2, 3, None]
    await lab.live.runner.cleanup()

    again = await exam_server_factory(lab_settings)
    lab.live = again
    assert (await lab.call("GET", url))[1] == exported
    # Wipe the room's map, then load the file back: the same map.
    status, _ = await lab.call("POST", url + "/hand", {"pcs": [{"hostname": "LAB-01"}]})
    assert status == 200
    assert (await lab.call("GET", url))[1] != exported
    status, view = await lab.call("PUT", url, exported)
    assert status == 200, view
    assert (await lab.call("GET", url))[1] == exported


async def open_candidate(lab: Lab, address: str) -> Client:
    ws = await connect(
        lab.live.ws_url + "/ws/candidate",
        subprotocols=[Subprotocol(SUBPROTOCOL)],
        local_addr=(address, 0),
        open_timeout=10,
    )
    return Client(ws)


async def hello(lab: Lab, address: str, seat_index: int) -> tuple[Client, dict[str, Any]]:
    person = lab.exam.people[seat_index]
    client = await open_candidate(lab, address)
    await client.send(
        {
            "type": "hello",
            "protocol": SUBPROTOCOL,
            "ticket": person.ticket,
            "id_number": person.id_number,
        }
    )
    return client, await client.recv()


async def test_wrong_pc_refused_and_spare_admitted_after_unlock(lab: Lab) -> None:
    await register_all(lab)
    await lab.call(
        "POST", f"/api/v1/lab/rooms/{lab.room}/seats/rule", {"first": "127.0.0.2", "spares": 1}
    )
    first = lab.exam.people[0]  # seat 1: PC LAB-01 at 127.0.0.2

    wrong, answer = await hello(lab, ADDRESSES[1], 0)  # at seat 2's PC
    assert answer["type"] == "error" and answer["code"] == "wrong_pc"
    assert "LAB-02" in answer["message"] and "seat 2" in answer["message"]
    await wrong.close()
    spare, answer = await hello(lab, ADDRESSES[3], 0)  # at the spare, not unlocked
    assert answer["code"] == "wrong_pc"
    await spare.close()
    outside, answer = await hello(lab, "127.0.0.9", 0)  # a PC not in the room
    assert answer["code"] == "wrong_pc"
    await outside.close()

    own, state = await hello(lab, ADDRESSES[0], 0)
    assert state["type"] == "state" and state["candidate"]["seat"] == 1

    # PC 1 fails; the proctor unlocks the candidate to the spare, by name.
    proctor, _ = await proctor_open(lab.live.ws_url, lab.exam.proctor_cookie, lab.exam.session_id)
    seq = await proctor.next_seq()
    await proctor.send(
        {"type": "unlock", "seq": seq, "candidate_id": first.id, "reason": "x", "pc": "LAB-99"}
    )
    refused = await proctor.expect("error", ref_seq=seq)
    assert refused["code"] == "unknown_pc"
    await command(proctor, "unlock", candidate_id=first.id, reason="1 号机故障", pc="LAB-04")
    other, answer = await hello(lab, ADDRESSES[2], 0)  # unlocked to the spare, not to PC 3
    assert answer["code"] == "wrong_pc"
    await other.close()
    moved, state = await hello(lab, ADDRESSES[3], 0)
    assert state["type"] == "state"
    await own.expect("closing")
    # The resume token of the spare's login brings it back there after a drop.
    await moved.close()
    back = await open_candidate(lab, ADDRESSES[3])
    await back.send(
        {
            "type": "hello",
            "protocol": SUBPROTOCOL,
            "ticket": first.ticket,
            "id_number": first.id_number,
            "resume_token": state["resume_token"],
        }
    )
    assert (await back.recv())["type"] == "state"
    for c in (back, own, proctor):
        await c.close()
    async with lab.live.app[SESSIONMAKER]() as session:
        unlock = await session.scalar(
            select(models.AuditEntry).where(models.AuditEntry.action == "candidate.unlock")
        )
    assert unlock is not None and unlock.data == {"pc": "LAB-04"}


async def test_focus_loss_reaches_the_seat_card_and_the_room_record(lab: Lab) -> None:
    person = lab.exam.people[0]
    proctor, room = await proctor_open(
        lab.live.ws_url, lab.exam.proctor_cookie, lab.exam.session_id
    )
    assert room["candidates"][0]["focus_lost"] == 0
    candidate, state = await hello(lab, "127.0.0.1", 0)  # a room without PCs: any PC
    assert state["type"] == "state"
    await candidate.send({"type": "focus", "event": "blur", "at": "2026-05-18T01:12:03Z"})
    await candidate.send({"type": "focus", "event": "blur"})
    await candidate.send({"type": "focus", "event": "fullscreen_exit"})
    await candidate.send({"type": "ping"})
    assert (await candidate.expect("pong"))["type"] == "pong"  # no ack, no error before it
    assert not [m for m in candidate.pending() if m.get("type") == "error"]

    loop = asyncio.get_running_loop()
    until = loop.time() + 10
    seat: dict[str, Any] = {}
    while loop.time() < until:
        message = await proctor.expect("seat")
        seat = message["candidate"]
        if (
            seat["candidate_id"] == person.id
            and seat["fullscreen_exits"] == 1
            and seat["focus_lost"] == 2
        ):
            break
    assert (seat["focus_lost"], seat["fullscreen_exits"]) == (2, 1)

    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{lab.live.base_url}/paperwork/sessions/{lab.exam.code}/room-record",
            headers={"Cookie": f"cbt_staff={lab.exam.proctor_cookie}"},
        ) as r,
    ):
        page = await r.text()
    assert r.status == 200
    assert page.count('data-kind="考试窗口失去焦点"') == 2
    assert page.count('data-kind="退出全屏"') == 1
    await candidate.close()
    await proctor.close()


async def test_focus_before_login_is_an_error(lab: Lab) -> None:
    client = await open_candidate(lab, "127.0.0.1")
    await client.send(json.dumps({"type": "focus", "event": "blur"}))
    answer = await client.recv()
    assert answer["type"] == "error" and answer["code"] == "hello_required"
    await client.close()


async def test_only_the_lab_administrator_maps_and_only_agents_register(lab: Lab) -> None:
    url = f"{lab.live.base_url}/api/v1/lab/rooms/{lab.room}/seats/rule"
    async with aiohttp.ClientSession() as http:
        proctor = {"Cookie": f"cbt_staff={lab.exam.proctor_cookie}"}
        async with http.post(url, json={"first": "127.0.0.2"}, headers=proctor) as r:
            assert r.status == 403
        async with http.post(url, json={"first": "127.0.0.2"}) as r:
            assert r.status == 401
        async with http.post(lab.live.base_url + "/api/v1/lab/pcs", json=body(1)) as r:
            assert r.status == 401
        async with http.get(lab.live.base_url + "/api/v1/lab/pcs", headers=proctor) as r:
            assert r.status == 403


async def test_a_pc_registered_without_figures_takes_its_latest_check_report(lab: Lab) -> None:
    slow = report("LAB-03", cpu__score_single=10.0)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            lab.live.base_url + "/api/v1/lab/reports",
            json=slow,
            headers={"Authorization": f"Bearer {lab.token}"},
        ) as r,
    ):
        assert r.status == 201
    client = agent(lab, 3)
    try:
        registration = body(3) | {"failing": [], "measured": False}
        await asyncio.to_thread(agent_seat.register, client, registration)
    finally:
        client.close()
    status, view = await lab.call("GET", "/api/v1/lab/pcs")
    (pc,) = view["pcs"]
    assert (pc["measured"], pc["failing"]) == (True, ["cpu"])
