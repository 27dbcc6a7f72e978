"""The rules of a sitting enforced by the server: a late login refused, then admitted by a
proctor (recorded); a hand-in refused before the earliest time; the waiting screen's facts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam, open_db
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open


async def shift_start(settings: Settings, exam: Exam, minutes: int) -> None:
    """Move the session start `minutes` into the past (as if that much time had passed)."""
    async with open_db(settings) as db, db.begin():
        row = await db.get(models.ExamSession, exam.session_id)
        assert row is not None and row.started_at is not None
        back = timedelta(minutes=minutes)
        row.started_at -= back
        for candidate in await db.scalars(
            select(models.Candidate).where(models.Candidate.started_at.is_not(None))
        ):
            assert candidate.started_at is not None
            candidate.started_at -= back


async def hello(server: LiveServer, ticket: str, id_number: str) -> Client:
    client = await Client.open(f"{server.ws_url}/ws/candidate")
    await client.send(
        {"type": "hello", "protocol": "cbt.v1", "ticket": ticket, "id_number": id_number}
    )
    return client


async def test_late_login_hand_in_time_and_waiting_facts(
    exam_server_factory: object, exam: Exam, sqlite_settings: Settings
) -> None:
    async with open_db(sqlite_settings) as db, db.begin():
        await db.execute(
            update(models.ExamSession)
            .where(models.ExamSession.id == exam.session_id)
            .values(late_minutes=15, min_submit_minutes=30, calculator=True)
        )
    server = await exam_server_factory(sqlite_settings)  # type: ignore[operator]
    first, late = exam.people[0], exam.people[1]
    a, waiting = await candidate_login(server.ws_url, first.ticket, first.id_number)
    session = waiting["session"]
    assert (session["items"], session["total_score"], session["pass_mark"]) == (100, 100, 60)
    assert (session["late_minutes"], session["min_submit_minutes"]) == (15, 30)
    assert session["calculator"] is True and session["submit_opens_at"] is None
    proctor, room = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    assert (room["late_minutes"], room["min_submit_minutes"]) == (15, 30)
    await command(proctor, "start")
    started = await a.expect("state")
    assert started["session"]["submit_opens_at"] is not None

    # Ten minutes in: the candidate may not hand in yet; the refusal says when.
    await shift_start(sqlite_settings, exam, 10)
    seq = a.seq + 1
    await a.send({"type": "submit", "seq": seq})
    refused = await a.expect("error", ref_seq=seq)
    assert refused["code"] == "too_early" and "30 分钟后才能交卷" in refused["message"]

    # Twenty minutes in: a first login is late and refused.
    await shift_start(sqlite_settings, exam, 10)
    b = await hello(server, late.ticket, late.id_number)
    error = await b.expect("error")
    assert error["code"] == "too_late" and "15 分钟后不能再入场" in error["message"]
    await b.close()
    # A proctor admits them, with a reason; then the login works.
    await command(proctor, "admit_late", candidate_id=late.id, reason="公交延误，经考点主任同意")
    b, state = await candidate_login(server.ws_url, late.ticket, late.id_number)
    assert state["candidate"]["state"] == "answering" and state["paper"] is not None
    await proctor.send({"type": "admit_late", "seq": 90, "candidate_id": late.id, "reason": "x"})
    assert (await proctor.expect("error", ref_seq=90))["code"] == "invalid_transition"

    # A proctor's force-submit is not held by the earliest hand-in.
    await command(proctor, "force_submit", candidate_id=late.id, reason="违纪")
    assert (await b.expect("submitted"))["reason"] == "proctor"

    # Thirty-one minutes in: the hand-in goes through.
    await shift_start(sqlite_settings, exam, 11)
    seq = a.seq + 2
    await a.send({"type": "submit", "seq": seq})
    await a.expect("ack", seq=seq)
    for client in (a, b, proctor):
        await client.close()

    async with open_db(sqlite_settings) as db:
        entry = await db.scalar(
            select(models.AuditEntry).where(models.AuditEntry.action == "candidate.admit_late")
        )
    assert entry is not None and entry.reason == "公交延误，经考点主任同意"
    assert entry.target == f"session:{exam.code}/candidate:{late.ticket}"


async def test_the_afternoon_candidate_in_the_morning_is_told_when(
    exam_server_factory: object, exam: Exam, sqlite_settings: Settings
) -> None:
    afternoon = utcnow() + timedelta(hours=5)
    async with open_db(sqlite_settings) as db, db.begin():
        await db.execute(
            update(models.ExamSession)
            .where(models.ExamSession.id == exam.session_id)
            .values(state="scheduled", scheduled_at=afternoon, title="电工 下午场")
        )
    server = await exam_server_factory(sqlite_settings)  # type: ignore[operator]
    person = exam.people[0]
    client = await hello(server, person.ticket, person.id_number)
    error = await client.expect("error")
    local = afternoon.astimezone()
    assert error["code"] == "later_sitting"
    assert (
        f"您的场次「电工 下午场」安排在 {local.month} 月 {local.day} 日 {local:%H:%M}"
        in (error["message"])
    )
    await client.close()
    # Past its scheduled time but not opened yet: the plain "not open" answer.
    async with open_db(sqlite_settings) as db, db.begin():
        await db.execute(
            update(models.ExamSession)
            .where(models.ExamSession.id == exam.session_id)
            .values(scheduled_at=utcnow() - timedelta(minutes=1))
        )
    client = await hello(server, person.ticket, person.id_number)
    assert (await client.expect("error"))["code"] == "not_started"
    await client.close()
