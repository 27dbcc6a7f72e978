"""First contact: login, state, an answer acknowledged after commit."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam
from tests.runtime.wsclient import candidate_login, command, proctor_open


async def test_login_answer_ack(server: LiveServer, exam: Exam) -> None:
    person = exam.people[0]
    client, state = await candidate_login(server.ws_url, person.ticket, person.id_number)
    assert state["candidate"]["ticket"] == person.ticket
    assert state["paper"] is None
    proctor, room = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    assert len(room["candidates"]) == 4
    await command(proctor, "start")
    started = await client.expect("state")
    assert started["paper"] is not None
    item = started["paper"]["sections"][0]["items"][0]
    await client.send(
        {
            "type": "answer",
            "seq": 1,
            "item_id": item["item_id"],
            "response": [item["options"][0]["id"]],
        }
    )
    ack = await client.expect("ack")
    assert ack == {"type": "ack", "seq": 1}
    await client.close()
    await proctor.close()
