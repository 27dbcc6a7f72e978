"""Candidate login: one live connection per candidate, unlock for a seat change, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from cbt_server.db import models
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam, open_db, prepare_database, settings_for
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open


def hello(ticket: str, id_number: str, **extra: object) -> dict[str, object]:
    return {
        "type": "hello",
        "protocol": SUBPROTOCOL,
        "ticket": ticket,
        "id_number": id_number,
        **extra,
    }


async def test_second_login_refused_until_unlocked(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    person = exam.people[0]
    first, state = await candidate_login(server.ws_url, person.ticket, person.id_number, seat=1)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "start")
    started = await first.expect("state")
    item = started["paper"]["sections"][2]["items"][0]
    await first.send({"type": "answer", "seq": 1, "item_id": item["item_id"], "response": ["true"]})
    await first.expect("ack", seq=1)

    # Another PC: refused, and the refusal leaves that connection open to try again.
    second = await Client.open(f"{server.ws_url}/ws/candidate")
    await second.send(hello(person.ticket, person.id_number, seat=7))
    refused = await second.expect("error")
    assert refused["code"] == "already_logged_in"
    # A wrong resume token is no better than none.
    await second.send(hello(person.ticket, person.id_number, seat=7, resume_token="guess"))
    assert (await second.expect("error"))["code"] == "already_logged_in"

    await command(proctor, "unlock", candidate_id=person.id, reason="7 号机故障后换机")
    closing = asyncio.create_task(first.expect("closing"))
    await second.send(hello(person.ticket, person.id_number, seat=7))
    moved = await second.expect("state")
    assert moved["answers"] == {item["item_id"]: ["true"]}  # all answers at the new seat
    assert moved["acked_seq"] == 1
    assert moved["resume_token"] != state["resume_token"]
    bye = await closing
    assert bye == {"type": "closing", "reason": "logged_in_elsewhere", "reconnect": False}

    # The old PC's token no longer logs in; the new PC's does.
    stale = await Client.open(f"{server.ws_url}/ws/candidate")
    await stale.send(hello(person.ticket, person.id_number, resume_token=state["resume_token"]))
    assert (await stale.expect("error"))["code"] == "already_logged_in"
    await stale.close()
    await second.send({"type": "answer", "seq": 2, "item_id": item["item_id"], "response": []})
    await second.expect("ack", seq=2)

    async with open_db(sqlite_settings) as db:
        row = await db.get(models.Candidate, person.id)
        assert row is not None and row.login_seat == 7 and row.unlocked is False
        actions = [
            a.action
            for a in await db.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id))
        ]
    assert actions.count("candidate.login") == 2
    assert "candidate.unlock" in actions
    await second.close()
    await proctor.close()


async def test_wrong_credentials_and_rate_limit(server: LiveServer, exam: Exam) -> None:
    person = exam.people[1]
    client = await Client.open(f"{server.ws_url}/ws/candidate")
    await client.send(hello("no-such-ticket", person.id_number))
    unknown = await client.expect("error")
    await client.send(hello(person.ticket, "110101199003070000"))
    wrong = await client.expect("error")
    # Same answer for an unknown ticket and a wrong ID number: tickets cannot be probed.
    assert unknown["code"] == wrong["code"] == "login_failed"
    assert unknown["message"] == wrong["message"]
    for _ in range(4):
        await client.send(hello(person.ticket, "110101199003070000"))
        assert (await client.expect("error"))["code"] == "login_failed"
    # Five failures for this ticket: even the right ID number must wait now.
    await client.send(hello(person.ticket, person.id_number))
    limited = await client.expect("error")
    assert limited["code"] == "rate_limited"
    # Another ticket from another seat is not affected.
    other = exam.people[2]
    await client.send(hello(other.ticket, other.id_number.lower(), seat=3))
    assert (await client.expect("state"))["candidate"]["ticket"] == other.ticket
    await client.close()


async def test_seat_limit_across_tickets(server: LiveServer, exam: Exam) -> None:
    client = await Client.open(f"{server.ws_url}/ws/candidate")
    for n in range(10):
        await client.send(hello(f"guess-{n}", "110101199003070000", seat=9))
        assert (await client.expect("error"))["code"] == "login_failed"
    person = exam.people[3]
    await client.send(hello(person.ticket, person.id_number, seat=9))
    assert (await client.expect("error"))["code"] == "rate_limited"
    await client.close()


async def test_login_before_checkin_opens(
    exam_server_factory: ExamServerFactory, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, "scheduled")
    exam = await prepare_database(settings, candidates=1, state="scheduled")
    server = await exam_server_factory(settings)
    person = exam.people[0]
    client = await Client.open(f"{server.ws_url}/ws/candidate")
    await client.send(hello(person.ticket, person.id_number))
    assert (await client.expect("error"))["code"] == "not_started"
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    await command(proctor, "open_checkin")
    await client.send(hello(person.ticket, person.id_number))
    state = await client.expect("state")
    assert state["session"]["state"] == "checkin" and state["paper"] is None
    await client.close()
    await proctor.close()
