"""One ticket, two sittings of a room: the rehearsal (试考) then the formal session, both
taken with the candidate's real ticket and ID-card number. The login picks the sitting
open now; only the formal result reaches the centre's feed (issue 20)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.types import utcnow
from cbt_server.enrolment.sample import SAMPLE_BLUEPRINT_ID, seat_people
from cbt_server.enrolment.sessions import SessionSpec, create_session
from cbt_server.results.feed import Filters, fetch_all
from cbt_server.settings import Settings, load_settings
from tests.conftest import LiveServer
from tests.runtime.conftest import ExamServerFactory
from tests.runtime.exam_setup import Exam, people, prepare_database, staff_cookie
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open

REHEARSAL = "S-R"


@pytest.fixture
def db_settings(tmp_path: Path, any_db_url: str) -> Settings:
    return load_settings(
        {}, data_dir=str(tmp_path / "data"), database_url=any_db_url, sqlite_synchronous="NORMAL"
    )


async def add_rehearsal(settings: Settings, formal: Exam) -> tuple[int, str]:
    """A rehearsal in the formal session's room, open for check-in, with the same people
    and tickets; the formal session is scheduled two hours on. Returns the rehearsal's id
    and its proctor's cookie."""
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_sessionmaker(engine).begin() as db:
            row = await db.get(models.ExamSession, formal.session_id)
            assert row is not None
            row.state, row.scheduled_at = "scheduled", utcnow() + timedelta(hours=2)
            room = await db.get(models.Room, row.room_id)
            assert room is not None
            rehearsal = await create_session(
                db,
                SessionSpec(
                    code=REHEARSAL,
                    blueprint_id=SAMPLE_BLUEPRINT_ID,
                    room_code=room.code,
                    title="电工 试考",
                    duration_minutes=20,
                    mode="rehearsal",
                ),
                actor="test",
            )
            rehearsal.state = "checkin"
            cipher = ContentCipher.from_data_dir(settings.data_path)
            await seat_people(db, cipher, rehearsal, people(formal.code, len(formal.people)))
            cookie = await staff_cookie(db, "proctor-rehearsal", "proctor", rehearsal.id)
            return rehearsal.id, cookie
    finally:
        await engine.dispose()


async def hello_error(server: LiveServer, ticket: str, id_number: str) -> dict[str, object]:
    client = await Client.open(f"{server.ws_url}/ws/candidate")
    await client.send(
        {"type": "hello", "protocol": "cbt.v1", "ticket": ticket, "id_number": id_number}
    )
    error = await client.expect("error")
    await client.close()
    return error


async def wait_results(settings: Settings, count: int) -> list[tuple[str, str]]:
    """(session code, ticket) of every stored result, once there are `count` of them."""
    engine = make_engine(settings.effective_database_url)
    try:
        maker = make_sessionmaker(engine)
        for _ in range(100):
            async with maker() as db:
                if await db.scalar(select(func.count()).select_from(models.Result)) >= count:
                    rows = await db.execute(
                        select(models.ExamSession.code, models.Candidate.ticket)
                        .select_from(models.Result)
                        .join(models.Candidate, models.Candidate.id == models.Result.candidate_id)
                        .join(models.ExamSession, models.ExamSession.id == models.Result.session_id)
                    )
                    return sorted((code, ticket) for code, ticket in rows.all())
            await asyncio.sleep(0.1)
        raise AssertionError(f"fewer than {count} results after 10 s")
    finally:
        await engine.dispose()


async def test_rehearsal_then_formal_with_one_ticket(
    exam_server_factory: ExamServerFactory, db_settings: Settings
) -> None:
    formal = await prepare_database(db_settings, candidates=2, code="S-F")
    rehearsal_id, rehearsal_cookie = await add_rehearsal(db_settings, formal)
    server = await exam_server_factory(db_settings)
    person = formal.people[0]

    # The rehearsal is open: the ticket logs in to it, answers, hands in.
    a, state = await candidate_login(server.ws_url, person.ticket, person.id_number)
    assert state["session"]["code"] == REHEARSAL and state["session"]["mode"] == "rehearsal"
    rehearsal_token = state["resume_token"]
    proctor_r, _ = await proctor_open(server.ws_url, rehearsal_cookie, rehearsal_id)
    await command(proctor_r, "start")
    await a.expect("state")
    await a.send({"type": "submit", "seq": a.seq + 1})
    await a.expect("ack")
    await a.close()
    # Back at the PC: the same ticket is told when its formal sitting is; the PC holding
    # the rehearsal's resume token comes back to the rehearsal's confirmation.
    error = await hello_error(server, person.ticket, person.id_number)
    assert error["code"] == "later_sitting" and "电工（高级）" in str(error["message"])
    again, state = await candidate_login(
        server.ws_url, person.ticket, person.id_number, resume_token=rehearsal_token
    )
    assert state["session"]["code"] == REHEARSAL
    assert state["candidate"]["state"] in ("submitted", "graded")
    await again.close()
    await command(proctor_r, "end_session", reason="试考结束")
    await proctor_r.close()

    # The formal session opens check-in: the same ticket and ID number log in to it,
    # even from the PC that still holds the rehearsal's token.
    proctor_f, _ = await proctor_open(server.ws_url, formal.proctor_cookie, formal.session_id)
    await command(proctor_f, "open_checkin")
    b, state = await candidate_login(
        server.ws_url, person.ticket, person.id_number, resume_token=rehearsal_token
    )
    assert state["session"]["code"] == formal.code and state["session"]["mode"] == "formal"
    assert state["candidate"]["state"] == "checked_in" and state["candidate"]["ticket"] == (
        person.ticket
    )
    assert state["resume_token"] != rehearsal_token
    await command(proctor_f, "start")
    await b.expect("state")
    await b.send({"type": "submit", "seq": b.seq + 1})
    await b.expect("ack")
    await b.close()
    await proctor_f.close()

    assert await wait_results(db_settings, 2) == [
        (formal.code, person.ticket),
        (REHEARSAL, person.ticket),
    ]
    engine = make_engine(db_settings.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            fed = [(r.values["session"], r.ticket) for r in await fetch_all(db, Filters())]
    finally:
        await engine.dispose()
    assert fed == [(formal.code, person.ticket)]  # the rehearsal's stays at the site
