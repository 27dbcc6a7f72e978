"""A practice by code in a room whose PCs are bound to seats: the practice candidate
gets the seat of the PC they log in from, so the seat rule admits them there (issue 20)."""

from __future__ import annotations

from cbt_server.enrolment.sample import SAMPLE_BLUEPRINT_ID
from cbt_server.enrolment.sessions import SessionSpec, create_session
from cbt_server.keys import SESSIONMAKER
from cbt_server.protocol import SUBPROTOCOL
from tests.lab.test_pcs_live import (  # the live lab's fixtures and helpers, reused
    ADDRESSES,
    Lab,
    lab,
    lab_settings,
    open_candidate,
    register_all,
)

__all__ = ["lab", "lab_settings"]  # fixtures


async def test_a_practice_candidate_sits_at_the_seat_of_their_pc(lab: Lab) -> None:
    await register_all(lab)
    status, _ = await lab.call(
        "POST", f"/api/v1/lab/rooms/{lab.room}/seats/rule", {"first": "127.0.0.2", "spares": 1}
    )
    assert status == 200
    async with lab.live.app[SESSIONMAKER].begin() as db:
        spec = SessionSpec(
            code="P-LAB",
            blueprint_id=SAMPLE_BLUEPRINT_ID,
            room_code=lab.room,
            mode="practice",
            practice_code="LABPRACTICE",
        )
        await create_session(db, spec, actor="test")
    seats = []
    for address in (ADDRESSES[2], ADDRESSES[0]):  # the PCs of seats 3 and 1
        client = await open_candidate(lab, address)
        await client.send(
            {"type": "practice_hello", "protocol": SUBPROTOCOL, "code": "labpractice"}
        )
        state = await client.recv()
        assert state["type"] == "state", state
        seats.append(state["candidate"]["seat"])
        await client.close()
    assert seats == [3, 1]
