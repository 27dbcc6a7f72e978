"""结束考试: one proctor action ends a session with no-shows; signing before it is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.errors import InvalidTransition, StillAnswering
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SubmitReason
from cbt_server.runtime.ending import end_session
from cbt_server.runtime.events import Event, Kind
from cbt_server.settings import Settings
from tests.conftest import LiveServer
from tests.runtime.exam_setup import Exam, open_db
from tests.runtime.wsclient import Client, candidate_login, command, proctor_open


def test_on_end_rules() -> None:
    assert lifecycle.on_end(CandidateState.REGISTERED, expired=False) == (
        CandidateState.ABSENT,
        None,
    )
    assert lifecycle.on_end(CandidateState.CHECKED_IN, expired=True)[0] is CandidateState.ABSENT
    assert lifecycle.on_end(CandidateState.ANSWERING, expired=True) == (
        CandidateState.SUBMITTED,
        SubmitReason.TIMEOUT,
    )
    for running in (CandidateState.ANSWERING, CandidateState.PAUSED):
        with pytest.raises(StillAnswering):
            lifecycle.on_end(running, expired=False)
    for done in (CandidateState.SUBMITTED, CandidateState.GRADED, CandidateState.ABSENT):
        assert lifecycle.on_end(done, expired=False) == (done, None)


async def refused(client: Client, kind: str, **fields: object) -> dict[str, object]:
    seq = await client.next_seq()
    await client.send({"type": kind, "seq": seq, **fields})
    return await client.expect("error", ref_seq=seq)


async def test_end_with_two_no_shows_in_one_action(
    server: LiveServer, exam: Exam, sqlite_settings: Settings
) -> None:
    first, second, never1, never2 = exam.people
    a, _ = await candidate_login(server.ws_url, first.ticket, first.id_number)
    b, _ = await candidate_login(server.ws_url, second.ticket, second.id_number)
    proctor, _ = await proctor_open(server.ws_url, exam.proctor_cookie, exam.session_id)
    early = await refused(proctor, "end_session")
    assert early["code"] == "invalid_transition"  # not started yet
    await command(proctor, "start")
    await a.expect("state")
    await b.expect("state")
    await a.send({"type": "submit", "seq": a.seq + 1})
    await a.expect("ack")

    # One candidate still answers with time left: the end is refused, naming them.
    error = await refused(proctor, "end_session", reason="提前结束")
    assert error["code"] == "still_answering"
    assert f"{second.seat} 号" in str(error["message"]) and second.ticket in str(error["message"])

    await b.send({"type": "submit", "seq": b.seq + 1})
    await b.expect("ack")
    await command(proctor, "end_session", reason="考生均已交卷")
    room = await proctor.expect("room")
    while room["state"] != "ended":
        room = await proctor.expect("room")
    seats = {s["candidate_id"]: s["state"] for s in room["candidates"]}
    assert seats[never1.id] == seats[never2.id] == "absent"

    # A submitted candidate coming back on another PC is told the paper is in.
    again = await Client.open(f"{server.ws_url}/ws/candidate")
    await again.send(
        {
            "type": "hello",
            "protocol": "cbt.v1",
            "ticket": first.ticket,
            "id_number": first.id_number,
        }
    )
    assert (await again.expect("error"))["code"] == "already_submitted"
    for client in (a, b, again, proctor):
        await client.close()

    async with open_db(sqlite_settings) as db:
        exam_row = await db.get(models.ExamSession, exam.session_id)
        states = dict(
            (await db.execute(select(models.Candidate.ticket, models.Candidate.state))).all()
        )
        ends = list(
            await db.scalars(
                select(models.AuditEntry).where(models.AuditEntry.action == "session.end")
            )
        )
    assert exam_row is not None and exam_row.state == "ended" and exam_row.ended_at is not None
    assert states[never1.ticket] == states[never2.ticket] == "absent"
    assert ends[-1].actor == f"proctor-{exam.code}" and ends[-1].reason == "考生均已交卷"
    assert sorted(ends[-1].data["absent"]) == sorted([never1.ticket, never2.ticket])


async def test_end_after_time_submits_the_out_of_time(
    exam: Exam, sqlite_settings: Settings
) -> None:
    """Past the deadline (before the sweeper got there) the end submits those still in
    the exam at the moment their time ran out, and marks the rest absent."""
    start = utcnow() - timedelta(hours=2)
    async with open_db(sqlite_settings) as db, db.begin():
        row = await db.get(models.ExamSession, exam.session_id)
        assert row is not None
        row.state, row.started_at = "started", start
        for person, state in zip(exam.people, ("answering", "paused", "checked_in"), strict=False):
            cand = await db.get(models.Candidate, person.id)
            assert cand is not None
            cand.state, cand.started_at = state, start
        db.add(
            models.Pause(
                session_id=row.id,
                candidate_id=exam.people[1].id,
                started_at=start + timedelta(minutes=75),
                reason="x",
            )
        )
    events: list[Event] = []
    async with open_db(sqlite_settings) as db, db.begin():
        row = await db.get(models.ExamSession, exam.session_id)
        assert row is not None
        with pytest.raises(StillAnswering):  # the paused one still has 15 minutes
            await end_session(
                db,
                row,
                actor="p",
                role="proctor",
                now=utcnow(),
                policy=DowntimePolicy.NOT_COUNTED,
                events=events,
            )
        await db.rollback()
    async with open_db(sqlite_settings) as db, db.begin():
        pause = await db.scalar(select(models.Pause))
        assert pause is not None
        pause.ended_at = pause.started_at
        row = await db.get(models.ExamSession, exam.session_id)
        assert row is not None
        done = await end_session(
            db,
            row,
            actor="p",
            role="proctor",
            now=utcnow(),
            policy=DowntimePolicy.NOT_COUNTED,
            events=events,
        )
    assert done.submitted == [exam.people[0].ticket, exam.people[1].ticket]
    assert done.absent == [exam.people[2].ticket, exam.people[3].ticket]
    assert events[-1].kind is Kind.SESSION_ENDED
    async with open_db(sqlite_settings) as db:
        first = await db.get(models.Candidate, exam.people[0].id)
        assert first is not None and first.state == "submitted"
        assert first.submit_reason == "timeout"
        assert first.submitted_at == start + timedelta(seconds=exam.duration_s)
        row = await db.get(models.ExamSession, exam.session_id)
        assert row is not None and row.state == "ended"
        with pytest.raises(InvalidTransition):
            await end_session(
                db,
                row,
                actor="p",
                role="proctor",
                now=utcnow(),
                policy=DowntimePolicy.NOT_COUNTED,
                events=[],
            )
