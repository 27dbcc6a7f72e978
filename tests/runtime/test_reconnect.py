"""Reconnecting mid-exam: unacknowledged answers resent, nothing lost, nothing doubled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cbt_server.db import models
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam, open_db
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open


def items_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for section in state["paper"]["sections"] for item in section["items"]]


def choice(item: dict[str, Any], n: int) -> list[str]:
    if item["type"] == "true_false":
        return [("true", "false")[n % 2]]
    options = [o["id"] for o in item["options"]]
    return [options[n % len(options)]]


async def started_candidate(server: LiveServer, exam: Exam) -> tuple[Client, dict[str, Any]]:
    person = exam.people[0]
    client, _ = await candidate_login(server.ws_url, person.ticket, person.id_number)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    await proctor.close()
    return client, await client.expect("state")


async def test_reconnect_with_unacknowledged_answers(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    client, state = await started_candidate(server, exam)
    token = state["resume_token"]
    items = items_of(state)
    intended: dict[str, list[str]] = {}
    outbox: dict[int, dict[str, Any]] = {}

    def answer(seq: int, index: int, n: int) -> dict[str, Any]:
        item = items[index]
        message = {"type": "answer", "seq": seq, "item_id": item["item_id"]}
        message["response"] = choice(item, n)
        intended[item["item_id"]] = message["response"]
        outbox[seq] = message
        return message

    for seq in range(1, 11):
        await client.send(answer(seq, seq - 1, 0))
    for seq in range(1, 11):
        await client.expect("ack", seq=seq)
        del outbox[seq]
    stale = {"type": "answer", "seq": 3, "item_id": items[2]["item_id"]}
    stale["response"] = choice(items[2], 1)  # differs from what seq 3 stored

    # A burst the client never sees acknowledged: the link dies right after it.
    for seq in range(11, 21):
        index = 0 if seq == 15 else seq - 1  # seq 15 changes item 0 again
        await client.send(answer(seq, index, 1 if seq == 15 else 0))
    client.ws.transport.abort()

    again, state = await candidate_login(
        server.ws_url, exam.people[0].ticket, exam.people[0].id_number, resume_token=token
    )
    assert state["resume_token"] == token
    acked = state["acked_seq"]
    assert 10 <= acked <= 20
    for item_id, response in state["answers"].items():
        assert intended[item_id] == response or item_id == items[0]["item_id"]
    # The client resends everything it holds unacknowledged, in order, and a stale
    # duplicate of an old one for good measure.
    for seq in sorted(outbox):
        await again.send(outbox[seq])
    await again.send(stale)
    for seq in [*sorted(outbox), 3]:
        await again.expect("ack", seq=seq)
    await again.close()

    async with open_db(sqlite_settings) as db:
        rows = list(
            await db.scalars(
                select(models.Answer).where(models.Answer.candidate_id == exam.people[0].id)
            )
        )
        candidate = await db.get(models.Candidate, exam.people[0].id)
    assert candidate is not None and candidate.acked_seq == 20
    assert {row.item_id: row.response for row in rows} == intended
    assert len(rows) == 19  # 20 answers, item 0 answered twice: one row each
    by_item = {row.item_id: row.seq for row in rows}
    assert by_item[items[0]["item_id"]] == 15
    assert by_item[items[2]["item_id"]] == 3


async def test_state_on_reconnect_is_complete(server: LiveServer, exam: Exam) -> None:
    client, state = await started_candidate(server, exam)
    items = items_of(state)
    await client.send(
        {
            "type": "answer",
            "seq": 1,
            "item_id": items[0]["item_id"],
            "response": choice(items[0], 0),
        }
    )
    await client.send({"type": "flag", "seq": 2, "item_id": items[1]["item_id"], "flagged": True})
    await client.expect("ack", seq=2)
    token = state["resume_token"]
    await client.close()
    again, fresh = await candidate_login(
        server.ws_url, exam.people[0].ticket, exam.people[0].id_number, resume_token=token
    )
    assert fresh["answers"] == {items[0]["item_id"]: choice(items[0], 0)}
    assert fresh["flags"] == [items[1]["item_id"]]
    assert fresh["acked_seq"] == 2
    assert fresh["paper"] == state["paper"]
    assert 0 < fresh["remaining_ms"] <= state["remaining_ms"]
    assert fresh["paused"] is False
    await again.close()
