"""The lab administrator's page /lab/seats: the room's PCs, and its forms (a PC by hand,
the address rule, a file) saving all or nothing."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from lab_agent import seat as agent_seat
from lab_agent.link import RefusedError
from tests.lab.test_pcs_live import ADDRESSES, Lab, agent, body, lab, lab_settings, register_all

__all__ = ["lab", "lab_settings"]  # the fixtures


async def post_form(lab: Lab, how: str, data: aiohttp.FormData) -> tuple[int, str]:
    data.add_field("csrf_token", lab.admin_csrf)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{lab.live.base_url}/lab/seats/{lab.room}/{how}",
            data=data,
            headers={"Cookie": f"cbt_staff={lab.admin_cookie}"},
        ) as r,
    ):
        return r.status, await r.text()


def form(**fields: str) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    return data


async def test_the_page_maps_by_rule_by_hand_and_from_a_file(lab: Lab) -> None:
    await register_all(lab)
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{lab.live.base_url}/lab/seats?room={lab.room}",
            headers={"Cookie": f"cbt_staff={lab.admin_cookie}"},
        ) as r,
    ):
        page = await r.text()
    assert r.status == 200
    assert "LAB-01" in page and "PCs in no room" in page

    status, page = await post_form(lab, "rule", form(first=ADDRESSES[0], seats="3", spares="1"))
    assert status == 200 and "4 PCs in room" in page
    assert 'data-pc="LAB-04"><td>备用 spare' in page

    status, page = await post_form(lab, "place", form(hostname="LAB-04", seat="2"))
    assert status == 400
    assert "Nothing saved: seat 2 of room R-S-01 is given to LAB-02 and LAB-04" in page
    status, page = await post_form(lab, "place", form(hostname="LAB-04", seat="two"))
    assert status == 400 and "seat: must be a whole number" in page

    exported = (await lab.call("GET", f"/api/v1/lab/rooms/{lab.room}/seats"))[1]
    status, page = await post_form(lab, "place", form(hostname="LAB-02", seat=""))
    assert status == 200
    upload = form()
    upload.add_field("file", json.dumps(exported), filename="seats.json")
    status, page = await post_form(lab, "import", upload)
    assert status == 200, page
    assert (await lab.call("GET", f"/api/v1/lab/rooms/{lab.room}/seats"))[1] == exported
    broken = form()
    broken.add_field("file", b"\xff not json", filename="seats.json")
    status, page = await post_form(lab, "import", broken)
    assert status == 400 and "not a seat file" in page


async def test_agents_asking_for_seats_are_accepted(lab: Lab) -> None:
    for n, wanted in ((1, 3), (2, 1)):
        client = agent(lab, n)
        try:
            registration = body(n, room=lab.room, seat=wanted)
            await asyncio.to_thread(agent_seat.register, client, registration)
        finally:
            client.close()
    status, page = await post_form(lab, "accept", form())
    assert status == 200, page
    room = (await lab.call("GET", f"/api/v1/lab/rooms/{lab.room}/pcs"))[1]
    assert {p["hostname"]: p["seat"] for p in room["pcs"]} == {"LAB-01": 3, "LAB-02": 1}
    assert room["unmapped_seats"] == [2]
    client = agent(lab, 3)
    try:
        bad = body(3, room=lab.room, seat=7)
        with pytest.raises(RefusedError, match="seat: 7 is not in room R-S-01"):
            await asyncio.to_thread(agent_seat.register, client, bad)
    finally:
        client.close()
