"""Migration 0013: a ticket becomes unique per session; rows (and rows referring to
them) survive the SQLite table rebuild and the PostgreSQL constraint swap."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.migrate import upgrade
from cbt_server.db.models import Answer, Blueprint, Candidate, ExamSession, Room
from item_bank.catalogue import OCCUPATIONS

OCC = OCCUPATIONS[0].code


def _session(code: str, room: Room) -> ExamSession:
    return ExamSession(
        code=code,
        title=code,
        occupation=OCC,
        level=3,
        blueprint_id="bp",
        room_id=room.id,
        duration_s=3600,
        seed="s",
    )


def _candidate(ticket: str, exam: ExamSession, seat: int) -> Candidate:
    return Candidate(
        ticket=ticket,
        id_number="110101199003077777",
        name="张三",
        occupation=OCC,
        level=3,
        session_id=exam.id,
        seat=seat,
    )


async def test_ticket_unique_per_session_keeps_rows(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        await upgrade(engine, "0012")
        maker = make_sessionmaker(engine)
        async with maker.begin() as db:
            room = Room(code="R1", name="一号", seat_count=10)
            db.add_all([room, Blueprint(id="bp", title="bp", occupation=OCC, level=3, spec={})])
            await db.flush()
            rehearsal, formal = _session("S-R", room), _session("S-F", room)
            db.add_all([rehearsal, formal])
            await db.flush()
            first = _candidate("T-1", rehearsal, 1)
            db.add(first)
            await db.flush()
            db.add(Answer(candidate_id=first.id, item_id="i1", response=["A"], seq=1))
            first_id, formal_id, rehearsal_id = first.id, formal.id, rehearsal.id

        await upgrade(engine)

        async with maker.begin() as db:
            kept = await db.get(Candidate, first_id)
            assert kept is not None and kept.ticket == "T-1"
            assert await db.scalar(select(func.count()).select_from(Answer)) == 1
            again = _candidate("T-1", formal, 1)
            again.session_id = formal_id
            db.add(again)  # the same ticket in another session: accepted
        with pytest.raises(IntegrityError):
            async with maker.begin() as db:
                twice = _candidate("T-1", formal, 2)
                twice.session_id = rehearsal_id
                db.add(twice)  # twice in one session: refused
        async with maker() as db:
            tickets = await db.scalars(
                select(Candidate.session_id).where(Candidate.ticket == "T-1")
            )
            assert sorted(tickets) == sorted([rehearsal_id, formal_id])
    finally:
        await engine.dispose()
