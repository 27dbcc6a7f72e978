"""A mapped PC registered again from a new address: a machine that copied its name and a
MAC (both visible on the lab network) does not take its seat; the registration waits for
the lab administrator, who confirms it (the PC did move) or rejects it. And the agents'
--seat requests: Accept applies those that conflict with nothing and names the others."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.cli import main
from cbt_server.cli.core import run_in_db
from cbt_server.db.models import Room
from cbt_server.db.types import utcnow
from cbt_server.lab import pcs, seatmap
from cbt_server.settings import load_settings
from lab_agent import seat as agent_seat
from lab_agent.link import LabClient, RefusedError
from tests.lab.test_pcs_live import (
    ADDRESSES,
    Lab,
    body,
    hello,
    lab,
    lab_settings,
    register_all,
    seat_of,
)
from tests.lab.test_seats_page import form, post_form

__all__ = ["lab", "lab_settings"]  # the fixtures

INTRUDER = "127.0.0.9"


async def register_from(
    lab: Lab, address: str, registration: dict[str, object]
) -> agent_seat.Registered:
    client = LabClient(lab.live.base_url, lab.token, source_address=address)
    try:
        return await asyncio.to_thread(agent_seat.register, client, registration)
    finally:
        client.close()


async def beat(lab: Lab, address: str, done: agent_seat.Registered) -> dict[str, object]:
    client = LabClient(lab.live.base_url, lab.token, source_address=address)
    try:
        answer: dict[str, object] = await asyncio.to_thread(
            client.heartbeat, done.pc_id, done.agent_id
        )
        return answer
    finally:
        client.close()


async def test_a_copied_name_and_mac_does_not_take_the_seat(lab: Lab) -> None:
    done = await register_all(lab)
    url = f"/api/v1/lab/rooms/{lab.room}/seats/rule"
    assert (await lab.call("POST", url, {"first": ADDRESSES[0], "spares": 1}))[0] == 200

    # Another machine says it is LAB-01, with LAB-01's MAC, from its own address.
    intruder = await register_from(lab, INTRUDER, body(1))
    assert intruder.pending is not None
    assert "awaits the lab administrator's confirmation" in intruder.pending
    assert (await seat_of(lab, ADDRESSES[0]))["seat"] == 1  # the seat stays
    page = await seat_of(lab, INTRUDER)
    assert page["seat"] is None and page["pc"] is None
    assert f"registration from {INTRUDER} awaits" in page["error"]
    # The real agent beats on; the intruder's run beats too, and is told it waits.
    assert (await beat(lab, ADDRESSES[0], done[0]))["seat"] == 1
    waiting = await beat(lab, INTRUDER, intruder)
    assert waiting["seat"] is None and "awaits" in str(waiting["pending"])
    # A candidate of seat 1 logging in there is refused, saying why.
    ws, answer = await hello(lab, INTRUDER, 0)
    assert answer["code"] == "wrong_pc" and "awaits the lab administrator" in answer["message"]
    await ws.close()
    own, state = await hello(lab, ADDRESSES[0], 0)
    assert state["type"] == "state" and state["candidate"]["seat"] == 1
    await own.close()

    room = (await lab.call("GET", f"/api/v1/lab/rooms/{lab.room}/pcs"))[1]
    first = next(pc for pc in room["pcs"] if pc["hostname"] == "LAB-01")
    assert (first["address"], first["pending_address"]) == (ADDRESSES[0], INTRUDER)
    status, page_html = await post_form(lab, "reject", form(hostname="LAB-01"))
    assert status == 200 and "was rejected" in page_html
    with pytest.raises(RefusedError) as stale:
        await beat(lab, INTRUDER, intruder)
    assert stale.value.code == "stale_agent"
    assert "error" not in await seat_of(lab, INTRUDER)
    status, page_html = await post_form(lab, "reject", form(hostname="LAB-01"))
    assert status == 400 and "no registration awaits confirmation" in page_html

    # The PC really moved: the administrator sees it on the page and confirms.
    moved = await register_from(lab, INTRUDER, body(1))
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{lab.live.base_url}/lab/seats?room={lab.room}",
            headers={"Cookie": f"cbt_staff={lab.admin_cookie}"},
        ) as r,
    ):
        assert f'data-pending="LAB-01"><td>LAB-01</td><td>{ADDRESSES[0]} → {INTRUDER}' in (
            await r.text()
        )
    status, page_html = await post_form(lab, "confirm", form(hostname="LAB-01"))
    assert status == 200 and f"PC LAB-01 is now at {INTRUDER}" in page_html
    assert (await seat_of(lab, INTRUDER))["seat"] == 1
    assert (await seat_of(lab, ADDRESSES[0]))["seat"] is None
    assert (await beat(lab, INTRUDER, moved))["seat"] == 1
    with pytest.raises(RefusedError) as old:
        await beat(lab, ADDRESSES[0], done[0])
    assert old.value.code == "stale_agent"
    # Registered again from the address it holds: at once, as before.
    again = await register_from(lab, INTRUDER, body(1))
    assert again.pending is None


async def test_accept_applies_what_conflicts_with_nothing(lab: Lab) -> None:
    for n, wanted in ((1, 3), (2, 1), (3, 1)):
        await register_from(lab, ADDRESSES[n - 1], body(n, room=lab.room, seat=wanted))
    status, view = await lab.call("POST", f"/api/v1/lab/rooms/{lab.room}/seats/accept")
    assert status == 200, view
    assert {p["hostname"]: p["seat"] for p in view["pcs"]} == {"LAB-01": 3}
    assert view["refused"] == [
        {"hostname": "LAB-02", "reason": f"seat 1 of room {lab.room} is asked for by LAB-03 too"},
        {"hostname": "LAB-03", "reason": f"seat 1 of room {lab.room} is asked for by LAB-02 too"},
    ]
    status, page = await post_form(lab, "accept", form())  # the page says the same
    assert status == 200 and "1 PCs in room" in page
    assert f"LAB-02 left where it was: seat 1 of room {lab.room} is asked for by LAB-03" in page
    # LAB-03 asks again, for a free seat: now every request fits.
    await register_from(lab, ADDRESSES[2], body(3, room=lab.room, seat=2))
    status, view = await lab.call("POST", f"/api/v1/lab/rooms/{lab.room}/seats/accept")
    assert status == 200 and view["refused"] == []
    assert {p["hostname"]: p["seat"] for p in view["pcs"]} == {
        "LAB-01": 3,
        "LAB-02": 1,
        "LAB-03": 2,
    }


def test_confirm_and_reject_on_the_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    settings = load_settings({}, data_dir=str(tmp_path))
    reg = seatmap.Registration(hostname="LAB-01", macs=["02:00:00:00:00:01"])

    async def setup(session: AsyncSession) -> None:
        room = Room(code="R1", name="第一机房", seat_count=2)
        session.add(room)
        await pcs.register(session, reg, "10.0.0.2", utcnow())
        await pcs.apply_places(session, room, {"LAB-01": seatmap.Place(1)}, replace=False)
        held = await pcs.register(session, reg, "10.0.0.66", utcnow())
        assert held.pending is not None

    run_in_db(settings, setup)
    base = ["--data-dir", str(tmp_path)]
    assert main([*base, "lab", "list"]) == 0
    out = capsys.readouterr().out
    assert "LAB-01\tR1 seat 1\t10.0.0.2\t" in out
    assert out.rstrip().endswith("new address 10.0.0.66 awaits confirmation")
    assert main([*base, "lab", "confirm", "LAB-01"]) == 0
    assert capsys.readouterr().out == "PC 'LAB-01' is now at 10.0.0.66\n"
    assert main([*base, "lab", "reject", "LAB-01"]) == 1
    assert "no registration awaits confirmation" in capsys.readouterr().err
    assert main([*base, "lab", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["address"], row["seat"], row["pending_address"]) == ("10.0.0.66", 1, None)
