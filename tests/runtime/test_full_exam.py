"""A full exam for 30 candidates on a real server with real WebSocket clients."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.enrolment.sample import SAMPLE_BANK
from cbt_server.settings import Settings, load_settings
from item_bank.importers.native import import_native
from tests.conftest import LiveServer
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam, Person, prepare_database
from tests.runtime.wsclient import (
    Client,
    candidate_login,
    command,
    forbidden_fields,
    proctor_open,
)
from tests.waiting import wait_until

KEYS = {item.id: tuple(item.key) for item in import_native(SAMPLE_BANK).items}


def choose(item: dict[str, Any], correct: bool) -> list[str]:
    """A response to a paper item: exactly the key, or a wrong one."""
    key = list(KEYS[item["item_id"]])
    if correct:
        return sorted(key)
    if item["type"] == "true_false":
        return ["false" if key == ["true"] else "true"]
    if item["type"] == "multiple":
        return [key[0]]  # a partial choice scores nothing without a mapping
    return [next(o["id"] for o in item["options"] if o["id"] not in key)]


def paper_items(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for section in state["paper"]["sections"] for item in section["items"]]


async def sit_exam(client: Client, state: dict[str, Any], correct: int) -> dict[str, Any]:
    """Answer every item (the first `correct` right), flag three, submit; the result."""
    items = paper_items(state)
    assert len(items) == 100
    sent: dict[int, str] = {}
    for index, item in enumerate(items):
        seq = await client.next_seq()
        sent[seq] = item["item_id"]
        await client.send(
            {
                "type": "answer",
                "seq": seq,
                "item_id": item["item_id"],
                "response": choose(item, index < correct),
            }
        )
    for item in items[:3]:
        seq = await client.next_seq()
        sent[seq] = item["item_id"]
        await client.send({"type": "flag", "seq": seq, "item_id": item["item_id"], "flagged": True})
    acked: set[int] = set()
    while len(acked) < len(sent):
        ack = await client.expect("ack", wait=60)
        acked.add(ack["seq"])
    assert acked == set(sent)
    seq = await client.next_seq()
    await client.send({"type": "submit", "seq": seq})
    await client.expect("ack", seq=seq)
    submitted = await client.expect("submitted", wait=30)
    assert submitted["reason"] == "candidate"
    return await client.expect("result", wait=30)


@pytest.fixture
def exam_settings(tmp_path: Path, any_db_url: str) -> Settings:
    return load_settings(
        {},
        data_dir=str(tmp_path / "data"),
        database_url=any_db_url,
        sqlite_synchronous="NORMAL",
    )


@pytest.mark.slow
async def test_thirty_candidates_full_exam(
    exam_server_factory: ExamServerFactory, exam_settings: Settings
) -> None:
    exam: Exam = await prepare_database(exam_settings, candidates=30)
    server: LiveServer = await exam_server_factory(exam_settings)
    logins = await asyncio.gather(
        *(candidate_login(server.ws_url, p.ticket, p.id_number, seat=p.seat) for p in exam.people)
    )
    clients = [client for client, _ in logins]
    for _, state in logins:
        assert state["candidate"]["state"] == "checked_in"
        assert state["paper"] is None  # no item content before the start
    proctor, room = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    assert [c["online"] for c in room["candidates"]] == [True] * 30
    await command(proctor, "start")
    started = [await client.expect("state") for client in clients]
    assert all(s["candidate"]["state"] == "answering" for s in started)
    papers = {tuple(i["item_id"] for i in paper_items(s)) for s in started}
    assert len(papers) == 30  # every candidate has a paper of their own

    # Candidate k (1..30) answers 40 + k items right.
    results = await asyncio.gather(
        *(sit_exam(c, s, 40 + k) for k, (c, s) in enumerate(zip(clients, started, strict=True), 1))
    )
    for k, result in enumerate(results, 1):
        assert result["total"] == 40 + k
        assert result["max_total"] == 100
        assert result["passed"] is (40 + k >= 60)

    for client in clients:
        for frame in client.frames:
            assert not forbidden_fields(frame), frame[:300]
        await client.close()

    engine = make_engine(exam_settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            rows = {
                r.candidate_id: r
                for r in await db.scalars(
                    select(models.Result).where(models.Result.session_id == exam.session_id)
                )
            }
            assert len(rows) == 30
            person: Person
            for k, (person, state) in enumerate(zip(exam.people, started, strict=True), 1):
                row = rows[person.id]
                assert row.score == 40 + k and row.submit_reason == "candidate"
                by_item = {r["item_id"]: r for r in row.responses}
                for index, item in enumerate(paper_items(state)):
                    stored = by_item[item["item_id"]]
                    assert stored["response"] == choose(item, index < 40 + k)
                    assert stored["correct"] is (index < 40 + k)
                    assert stored["option_order"] == [o["id"] for o in item["options"]]
            flagged = await db.scalar(
                select(func.count()).select_from(models.Answer).where(models.Answer.flagged)
            )
            assert flagged == 90
            exam_row = await db.get(models.ExamSession, exam.session_id)
            assert exam_row is not None
        # Every candidate finished: the session ends by itself.

        async def ended() -> bool:
            async with make_sessionmaker(engine)() as db:
                row = await db.get(models.ExamSession, exam.session_id)
                assert row is not None
                return row.state == "ended"

        await wait_until(ended, "the session to end", within=10, every=0.1)
    finally:
        await engine.dispose()
    await proctor.close()
