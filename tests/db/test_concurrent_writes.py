"""Many concurrent answer writers: no 'database is locked', nothing lost, on both databases."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.db.models import Answer, Blueprint, Candidate, ExamSession, Room
from cbt_server.db.types import utcnow

CANDIDATES = 30
ANSWERS_EACH = 20


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessionmaker.begin() as session:
        session.add(
            Blueprint(id="bp", title="t", occupation="electrician", level=3, spec={"sections": []})
        )
        room = Room(code="R1", name="Room 1", seat_count=CANDIDATES)
        session.add(room)
        await session.flush()
        exam = ExamSession(
            code="S1",
            title="t",
            occupation="electrician",
            level=3,
            blueprint_id="bp",
            room_id=room.id,
            duration_s=3600,
            seed="s",
        )
        session.add(exam)
        await session.flush()
        people = [
            Candidate(
                ticket=f"T{i:03d}",
                id_number="11010519491231002X",
                name=f"考生{i}",
                occupation="electrician",
                level=3,
                session_id=exam.id,
                seat=i + 1,
            )
            for i in range(CANDIDATES)
        ]
        session.add_all(people)
        await session.flush()
        return [c.id for c in people]


async def _answer(
    sessionmaker: async_sessionmaker[AsyncSession], candidate_id: int, seq: int
) -> None:
    """Read-then-write in one transaction, as the runtime does for each answer message.

    The candidate row is locked first (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
    serialises writers anyway), so two writes for one candidate never race on the insert.
    """
    item_id = f"item-{seq % 7}"
    async with sessionmaker.begin() as session:
        candidate = await session.get(Candidate, candidate_id, with_for_update=True)
        assert candidate is not None
        current = await session.get(Answer, (candidate_id, item_id))
        if current is None:
            session.add(Answer(candidate_id=candidate_id, item_id=item_id, response=["A"], seq=seq))
        elif current.seq < seq:
            current.response = [random.choice("ABCD")]
            current.seq = seq
            current.updated_at = utcnow()
        candidate.acked_seq = max(candidate.acked_seq, seq)


async def test_concurrent_answer_writes_never_lock(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _seed(sessionmaker)
    tasks = [_answer(sessionmaker, cid, seq) for cid in ids for seq in range(1, ANSWERS_EACH + 1)]
    random.shuffle(tasks)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    async with sessionmaker() as session:
        stored = await session.scalar(select(func.count()).select_from(Answer))
        acked = list(await session.scalars(select(Candidate.acked_seq)))
    assert stored == CANDIDATES * 7
    assert acked == [ANSWERS_EACH] * CANDIDATES
