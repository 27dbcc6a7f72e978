"""Practice (练习) over the real socket: a login by practice code makes a candidate with
their own paper; `check` shows an item's key and locks it; `review` shows every key once
handed in; a formal session refuses both (issue 20)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.enrolment.sample import SAMPLE_BLUEPRINT_ID, seat_people
from cbt_server.enrolment.sample import Person as Entrant
from cbt_server.enrolment.sessions import SessionSpec, create_session
from cbt_server.idcard import make_number
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.settings import Settings
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam, open_db, prepare_database
from tests.runtime.wsclient import Client, candidate_login, forbidden_fields

CODE = "PR4CT1CE"


async def add_practice(
    settings: Settings, *, code: str = "P-1", feedback: str = "item", untimed: bool = False
) -> int:
    spec = SessionSpec(
        code=code,
        blueprint_id=SAMPLE_BLUEPRINT_ID,
        room_code=f"R-{code}",
        seats=10,
        mode="practice",
        feedback=feedback,
        untimed=untimed,
        practice_code=f"{CODE}{code[-1]}",
    )
    async with open_db(settings) as db, db.begin():
        exam = await create_session(db, spec, actor="test")
        assert exam.state == "started" and exam.practice_code_hash
        return exam.id


async def by_code(
    base_ws: str, code: str, resume_token: str | None = None
) -> tuple[Client, dict[str, Any]]:
    client = await Client.open(f"{base_ws}/ws/candidate")
    hello = {"type": "practice_hello", "protocol": SUBPROTOCOL, "code": code}
    if resume_token:
        hello["resume_token"] = resume_token
    await client.send(hello)
    first = await client.recv()
    if first["type"] == "state":
        client.seq = first["acked_seq"]
    return client, first


def items_of(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for section in state["paper"]["sections"] for item in section["items"]]


def choice(item: dict[str, Any]) -> list[str]:
    return [item["options"][0]["id"]] if item["options"] else ["true"]


async def answer(client: Client, item: dict[str, Any]) -> dict[str, Any]:
    seq = await client.next_seq()
    await client.send({"type": "answer", "seq": seq, "item_id": item["item_id"],
                       "response": choice(item)})  # fmt: skip
    reply = await client.recv()
    assert reply.get("seq") == seq or reply.get("ref_seq") == seq, reply
    return reply


@pytest.fixture
async def any_db(settings: Settings) -> Settings:
    """SQLite, then PostgreSQL when CBT_TEST_PG_URL is set: a formal exam in it."""
    await prepare_database(settings, candidates=4)
    return settings


async def test_practice_by_code_check_locks_the_item_and_review_after_hand_in(
    exam_server_factory: ExamServerFactory, any_db: Settings
) -> None:
    sqlite_settings = any_db
    practice_id = await add_practice(sqlite_settings)
    server = await exam_server_factory(sqlite_settings)
    client, state = await by_code(server.ws_url, "pr4c-t1ce 1")  # as typed: case, spaces
    assert state["type"] == "state", state
    assert state["session"]["mode"] == "practice" and state["session"]["feedback"] == "item"
    assert state["candidate"]["state"] == "answering" and state["candidate"]["name"]
    assert state["remaining_ms"] > 0 and state["checked"] == []
    first, second = items_of(state)[:2]

    await client.send({"type": "check", "item_id": first["item_id"]})
    refused = await client.expect("error")
    assert refused["code"] == "not_checkable" and "先作答" in refused["message"]
    assert (await answer(client, first))["type"] == "ack"
    await client.send({"type": "check", "item_id": first["item_id"]})
    checked = await client.expect("checked")
    assert checked["item_id"] == first["item_id"] and checked["response"] == choice(first)
    assert checked["key"] and checked["correct"] == (checked["key"] == checked["response"])
    shown = {option["id"] for option in first["options"]} or {"true", "false"}
    assert set(checked["key"]) <= shown
    locked = await answer(client, first)
    assert locked["type"] == "error" and locked["code"] == "item_locked"
    assert (await answer(client, second))["type"] == "ack"  # others stay open
    await client.send({"type": "review"})
    assert (await client.expect("error"))["code"] == "not_checkable"  # not before hand-in

    # Back on the same PC with the resume token: the same candidate, the check kept.
    await client.close()
    again, resumed = await by_code(server.ws_url, f"{CODE}1", state["resume_token"])
    assert resumed["candidate"]["ticket"] == state["candidate"]["ticket"]
    assert resumed["checked"] == [first["item_id"]]
    seq = await again.next_seq()
    await again.send({"type": "submit", "seq": seq})
    await again.expect("ack", seq=seq)
    await again.send({"type": "review"})
    review = await again.expect("reviewed")
    assert [i["item_id"] for i in review["items"]] == [i["item_id"] for i in items_of(state)]
    assert review["paper"]["paper_id"] == state["paper"]["paper_id"]
    assert review["items"][0] == {k: v for k, v in checked.items() if k != "type"}
    assert all(i["key"] for i in review["items"])
    assert review["items"][2]["outcome"] == "unanswered"
    await again.close()

    # A second practice candidate by the same code: another candidate, another paper.
    other, fresh = await by_code(server.ws_url, f"{CODE}1")
    assert fresh["candidate"]["ticket"] != state["candidate"]["ticket"]
    assert fresh["paper"]["paper_id"] != state["paper"]["paper_id"]
    await other.close()
    async with open_db(sqlite_settings) as db:
        practice = await db.get(models.ExamSession, practice_id)
        assert practice is not None and practice.state == "started"  # stays open


async def test_a_wrong_code_fails_like_a_wrong_ticket_and_is_rate_limited(
    exam_server_factory: ExamServerFactory, exam: Exam, sqlite_settings: Settings
) -> None:
    await add_practice(sqlite_settings)
    server = await exam_server_factory(sqlite_settings)
    replies = []
    for attempt in range(12):
        client, reply = await by_code(server.ws_url, f"WRONG{attempt:03d}")
        replies.append(reply)
        await client.close()
    codes = [reply["code"] for reply in replies]
    assert codes[0] == "login_failed" and "练习码" in replies[0]["message"]
    assert codes[-1] == "rate_limited"  # a new code each try meets the seat/address limit


async def test_the_cap_of_practice_candidates(
    exam_server_factory: ExamServerFactory, exam: Exam, sqlite_settings: Settings
) -> None:
    await add_practice(sqlite_settings)
    server = await exam_server_factory(
        dataclasses.replace(sqlite_settings, practice_max_candidates=1)
    )
    first, state = await by_code(server.ws_url, f"{CODE}1")
    assert state["type"] == "state"
    second, refused = await by_code(server.ws_url, f"{CODE}1")
    assert refused["code"] == "practice_full" and "已满" in refused["message"]
    await first.close()
    await second.close()


async def test_end_feedback_and_untimed(
    exam_server_factory: ExamServerFactory, exam: Exam, sqlite_settings: Settings
) -> None:
    await add_practice(sqlite_settings, code="P-2", feedback="end", untimed=True)
    server = await exam_server_factory(sqlite_settings)
    client, state = await by_code(server.ws_url, f"{CODE}2")
    assert state["session"]["untimed"] and state["session"]["feedback"] == "end"
    item = items_of(state)[0]
    assert (await answer(client, item))["type"] == "ack"
    await client.send({"type": "check", "item_id": item["item_id"]})
    refused = await client.expect("error")
    assert refused["code"] == "not_checkable" and "after handing in" in refused["message"]
    assert (await answer(client, item))["type"] == "ack"  # not locked: nothing was shown
    seq = await client.next_seq()
    await client.send({"type": "submit", "seq": seq})
    await client.expect("ack", seq=seq)
    await client.send({"type": "review"})
    review = await client.expect("reviewed")
    assert review["items"][0]["response"] == choice(item) and review["items"][0]["key"]
    await client.close()


async def test_a_formal_session_never_shows_a_key(
    exam_server_factory: ExamServerFactory, any_db: Settings
) -> None:
    sqlite_settings = any_db
    server = await exam_server_factory(sqlite_settings)
    async with open_db(sqlite_settings) as db:
        exam = await db.scalar(select(models.ExamSession).where(models.ExamSession.code == "S-01"))
        assert exam is not None
        first = await db.scalar(
            select(models.Candidate).where(models.Candidate.session_id == exam.id).limit(1)
        )
        assert first is not None
        ticket, id_number, exam_id, exam_code = first.ticket, first.id_number, exam.id, exam.code
    async with open_db(sqlite_settings) as db, db.begin():
        row = await db.get(models.ExamSession, exam_id)
        assert row is not None
        row.state, row.started_at = "started", models.utcnow()
    client, state = await candidate_login(server.ws_url, ticket, id_number)
    item = items_of(state)[0]
    assert (await answer(client, item))["type"] == "ack"
    for asked in ({"type": "check", "item_id": item["item_id"]}, {"type": "review"}):
        await client.send(asked)
        assert (await client.expect("error"))["code"] == "not_practice"
    seq = await client.next_seq()
    await client.send({"type": "submit", "seq": seq})
    await client.expect("ack", seq=seq)
    await client.send({"type": "review"})
    assert (await client.expect("error"))["code"] == "not_practice"
    await client.close()
    assert not any(forbidden_fields(frame) for frame in client.frames)
    # A practice code never opens a formal session, whatever is typed.
    other, reply = await by_code(server.ws_url, exam_code)
    assert reply["code"] == "login_failed"
    await other.close()


async def test_a_rostered_practice_candidate_logs_in_by_ticket_on_their_own_clock(
    exam_server_factory: ExamServerFactory, exam: Exam, sqlite_settings: Settings
) -> None:
    practice_id = await add_practice(sqlite_settings, feedback="end")
    cipher = ContentCipher.from_data_dir(sqlite_settings.data_path)
    entrant = Entrant("PR-0001", make_number("320102", date(1992, 4, 5), 301), "练习者", 5)
    async with open_db(sqlite_settings) as db, db.begin():
        practice = await db.get(models.ExamSession, practice_id)
        assert practice is not None
        practice.started_at = models.utcnow() - timedelta(hours=1)  # opened an hour ago
        await seat_people(db, cipher, practice, [entrant])
    server = await exam_server_factory(sqlite_settings)
    client, state = await candidate_login(server.ws_url, entrant.ticket, entrant.id_number)
    assert state["session"]["mode"] == "practice" and state["candidate"]["state"] == "answering"
    # Their 90 minutes start now, not when the practice opened.
    assert 89 * 60_000 < state["remaining_ms"] <= 90 * 60_000
    await client.close()
