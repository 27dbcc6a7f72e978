"""A room submitting together is graded together (`grade_many`): each result is what
grading that candidate alone gives, with a number of statements that does not grow with
the room; a candidate graded already is left alone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.types import utcnow
from cbt_server.exam.state import SubmitReason
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate import changes as svc
from cbt_server.runtime.candidate.submit import mark_submitted
from cbt_server.runtime.candidate_protocol import event_tells, message_of_event
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.grading_service import grade_many
from cbt_server.runtime.papers import Layouts
from cbt_server.settings import Settings
from tests.runtime.test_room_states import counting
from tests.runtime.test_save_many import POLICY, Room, _answer, _room, read_papers


async def _answer_and_submit(
    room: Room, sessionmaker: async_sessionmaker[AsyncSession], answered: int
) -> None:
    """Candidate n answers the first n % 4 items of their paper and submits."""
    now = utcnow()
    requests = [
        svc.SaveRequest(
            p.id,
            room.conns[p.id],
            [_answer(room, p.id, position, position + 1) for position in range(n % answered)],
            room.indexes[p.id],
        )
        for n, p in enumerate(room.exam.people)
    ]
    async with sessionmaker.begin() as session:
        await svc.save_changes_many(session, requests, now=now, policy=POLICY, events=[])
        for p in room.exam.people:
            candidate = await session.get(models.Candidate, p.id)
            exam = await session.get(models.ExamSession, room.exam.session_id)
            assert candidate is not None and exam is not None
            mark_submitted(candidate, exam, SubmitReason.CANDIDATE, now, [])


async def _locked(session: AsyncSession, room: Room) -> list[models.Candidate]:
    return list(
        await session.scalars(
            select(models.Candidate)
            .where(models.Candidate.session_id == room.exam.session_id)
            .order_by(models.Candidate.seat)
        )
    )


def _result(row: models.Result | None) -> Any:
    assert row is not None
    return (row.score, row.max_score, row.passed, row.submit_reason, row.responses)


async def _same_papers(
    sessionmaker: async_sessionmaker[AsyncSession], source: Room, target: Room
) -> None:
    """Give the target room's seats the source room's papers (layouts), seat by seat."""
    async with sessionmaker.begin() as session:
        for mine, theirs in zip(target.exam.people, source.exam.people, strict=True):
            paper = await session.scalar(
                select(models.Paper).where(models.Paper.candidate_id == mine.id)
            )
            model = await session.scalar(
                select(models.Paper).where(models.Paper.candidate_id == theirs.id)
            )
            assert paper is not None and model is not None
            paper.layout = dict(model.layout)
    await read_papers(sessionmaker, target)


async def test_graded_together_exactly_as_one_by_one(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    cipher = ContentCipher.from_data_dir(settings.data_path)
    alone = await _room(sessionmaker, cipher, "A", 6)
    together = await _room(sessionmaker, cipher, "B", 6)
    await _same_papers(sessionmaker, alone, together)
    for room in (alone, together):
        await _answer_and_submit(room, sessionmaker, answered=4)

    alone_results = []
    for candidate_id in [p.id for p in alone.exam.people]:
        async with sessionmaker.begin() as session:
            candidate = await session.get(models.Candidate, candidate_id)
            assert candidate is not None
            (row,) = await grade_many(session, cipher, [candidate], utcnow(), [])
            alone_results.append(_result(row))
    events: list[Event] = []
    async with sessionmaker.begin() as session:
        candidates = await _locked(session, together)
        rows = await grade_many(session, cipher, candidates, utcnow(), events)
        together_results = [_result(row) for row in rows]
        assert {c.state for c in candidates} == {"graded"}
    assert together_results == alone_results
    assert len({r[0] for r in together_results}) > 1  # seats answered differently
    assert [e.kind for e in events] == [Kind.CANDIDATE_GRADED] * 6
    # Each event tells the candidate's `result` message (the room is told without reads).
    for graded, (score, *_rest) in zip(events, together_results, strict=True):
        assert event_tells(graded)
        told = message_of_event(graded)
        assert isinstance(told, msg.Result) and told.total == score and told.max_total > 0
    async with sessionmaker.begin() as session:  # graded already: nothing more
        again = await grade_many(session, cipher, await _locked(session, together), utcnow(), [])
        assert again == [None] * 6
        stored = list(
            await session.scalars(
                select(models.Result).where(models.Result.session_id == together.exam.session_id)
            )
        )
        assert len(stored) == 6  # one result each, none written twice


async def test_no_result_is_told_where_the_session_hides_scores(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    cipher = ContentCipher.from_data_dir(settings.data_path)
    room = await _room(sessionmaker, cipher, "A", 2)
    await _answer_and_submit(room, sessionmaker, answered=2)
    events: list[Event] = []
    async with sessionmaker.begin() as session:
        exam = await session.get(models.ExamSession, room.exam.session_id)
        assert exam is not None
        exam.show_scores = False
        await grade_many(session, cipher, await _locked(session, room), utcnow(), events)
    assert [e.data for e in events] == [{"shown": False}] * 2
    assert all(event_tells(e) and message_of_event(e) is None for e in events)


async def test_grading_reads_do_not_grow_with_the_room(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    cipher = ContentCipher.from_data_dir(settings.data_path)
    small = await _room(sessionmaker, cipher, "A", 3)
    big = await _room(sessionmaker, cipher, "B", 30)
    counts = []
    for room in (small, big):
        await _answer_and_submit(room, sessionmaker, answered=3)
        statements: list[str] = []

        def record(*args: Any, statements: list[str] = statements, **_: Any) -> None:
            statements.append(args[2])

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            async with sessionmaker.begin() as session:
                candidates = await _locked(session, room)
                statements.clear()
                rows = await grade_many(session, cipher, candidates, utcnow(), [])
                assert all(row is not None for row in rows)
                # SQLite inserts one result per statement: the ORM needs each new id back
                # and SQLite does not promise the order of RETURNING rows.
                counts.append(sum(not s.startswith("INSERT INTO results") for s in statements))
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert counts[0] == counts[1], counts


async def test_grading_reuses_the_layouts_parsed_at_check_in(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    cipher = ContentCipher.from_data_dir(settings.data_path)
    room = await _room(sessionmaker, cipher, "A", 4)
    await _answer_and_submit(room, sessionmaker, answered=3)
    layouts = Layouts()
    async with sessionmaker() as session:  # as check-in does, building the paper views
        ids = list(await session.scalars(select(models.Paper.id)))
        parsed = await layouts.load(session, ids)
    async with sessionmaker.begin() as session:
        locked = await _locked(session, room)
        with counting(session) as statements:
            rows = await grade_many(session, cipher, locked, utcnow(), [], None, layouts)
    assert all(row is not None and row.paper_id in parsed for row in rows)
    assert statements and not [s for s in statements if "papers.layout" in s]  # not again
