"""The console's view of a room: every seat's state, progress, time and flags, read with a
fixed number of queries (`room` and `seat` messages, docs/protocol.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.enrolment.layout import seat_plan
from cbt_server.enrolment.photo_store import with_photos
from cbt_server.exam import clock
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.lab import pcs as lab_pcs
from cbt_server.protocol import proctor as msg
from cbt_server.runtime.candidate.rows import get_row
from cbt_server.runtime.facts import room_pause, session_clock_facts


async def session_candidates(session: AsyncSession, session_id: int) -> list[models.Candidate]:
    """A session's candidates in seat order, read afresh."""
    return list(
        await session.scalars(
            select(models.Candidate)
            .where(models.Candidate.session_id == session_id)
            .order_by(models.Candidate.seat)
            .execution_options(populate_existing=True)
        )
    )


async def _answered_counts(session: AsyncSession, candidate_ids: list[int]) -> dict[int, int]:
    if not candidate_ids:
        return {}
    rows = await session.execute(
        select(models.Answer.candidate_id, func.count())
        .where(
            models.Answer.candidate_id.in_(candidate_ids),
            # json_array_length exists on SQLite and PostgreSQL alike.
            func.json_array_length(models.Answer.response) > 0,
        )
        .group_by(models.Answer.candidate_id)
    )
    return {int(cid): int(n) for cid, n in rows.all()}


async def _paper_sizes(
    session: AsyncSession, candidate_ids: list[int], known: dict[int, int]
) -> dict[int, int]:
    """Items on each candidate's paper; `known` caches sizes (a stored paper never
    changes), so a busy console does not re-read 100-item layouts for every update."""
    wanted = [cid for cid in candidate_ids if cid not in known]
    if wanted:
        rows = await session.execute(
            select(models.Paper.candidate_id, models.Paper.layout).where(
                models.Paper.candidate_id.in_(wanted)
            )
        )
        for cid, layout in rows.all():
            known[int(cid)] = sum(len(s.get("items", [])) for s in layout.get("sections", []))
    return {cid: known.get(cid, 0) for cid in candidate_ids}


async def seat_views(
    session: AsyncSession,
    exam: models.ExamSession,
    candidates: list[models.Candidate],
    now: datetime,
    policy: DowntimePolicy,
    paper_sizes: dict[int, int] | None = None,
) -> list[msg.SeatView]:
    """The console's view of these candidates, with a fixed number of queries."""
    ids = [c.id for c in candidates]
    facts = await session_clock_facts(session, exam, candidates, policy)
    photos = await with_photos(session, ids)
    answered = await _answered_counts(session, ids)
    focus = await lab_pcs.focus_counts(session, ids)
    sizes = await _paper_sizes(session, ids, {} if paper_sizes is None else paper_sizes)
    results: dict[int, models.Result] = {}
    if ids:
        for row in await session.scalars(
            select(models.Result).where(models.Result.candidate_id.in_(ids))
        ):
            results[row.candidate_id] = row
    views = []
    for c in candidates:
        state = CandidateState(c.state)
        f = facts[c.id]
        result = results.get(c.id)
        running = exam.started_at is not None and state not in lifecycle.FINISHED
        views.append(
            msg.SeatView(
                candidate_id=c.id,
                ticket=c.ticket,
                name=c.name,
                seat=c.seat,
                state=state,
                online=c.connection_id is not None,
                answered=answered.get(c.id, 0),
                total=sizes.get(c.id, 0),
                remaining_ms=clock.remaining_ms(f, now) if running else None,
                paused=state not in lifecycle.FINISHED and clock.is_paused(f, now),
                extra_ms=clock.extra_time(f, now) // timedelta(milliseconds=1),
                last_seen=c.last_seen_at,
                submit_reason=SubmitReason(c.submit_reason) if c.submit_reason else None,
                score=result.score if result else None,
                passed=result.passed if result else None,
                focus_lost=focus.get(c.id, (0, 0))[0],
                fullscreen_exits=focus.get(c.id, (0, 0))[1],
                late_admitted=c.late_admitted,
                photo=c.id in photos,
                identity_checked=c.identity_checked_at is not None,
            )
        )
    return views


async def room_view(
    session: AsyncSession,
    session_id: int,
    now: datetime,
    policy: DowntimePolicy,
    paper_sizes: dict[int, int] | None = None,
) -> msg.Room:
    exam = await get_row(session, models.ExamSession, session_id, "session")
    candidates = await session_candidates(session, exam.id)
    room = await session.get(models.Room, exam.room_id)
    rows, cols = seat_plan(room.seat_count, room.rows, room.cols) if room else (None, None)
    return msg.Room(
        server_time=now,
        session_id=exam.id,
        session_code=exam.code,
        title=exam.title,
        state=SessionState(exam.state),
        room_paused=await room_pause(session, exam.id) is not None,
        duration_ms=exam.duration_s * 1000,
        started_at=exam.started_at,
        late_minutes=exam.late_minutes,
        min_submit_minutes=exam.min_submit_minutes,
        mode=cast(msg.SessionMode, exam.mode),
        candidates=await seat_views(session, exam, candidates, now, policy, paper_sizes),
        rows=rows,
        cols=cols,
    )


async def seat_updates(
    session: AsyncSession,
    session_id: int,
    candidate_ids: list[int],
    now: datetime,
    policy: DowntimePolicy,
    paper_sizes: dict[int, int] | None = None,
) -> list[msg.SeatView]:
    """Seat views of some candidates of one session (others' ids are ignored)."""
    exam = await session.get(models.ExamSession, session_id, populate_existing=True)
    if exam is None or not candidate_ids:
        return []
    candidates = list(
        await session.scalars(
            select(models.Candidate)
            .where(
                models.Candidate.session_id == exam.id,
                models.Candidate.id.in_(candidate_ids),
            )
            .order_by(models.Candidate.seat)
            .execution_options(populate_existing=True)
        )
    )
    return await seat_views(session, exam, candidates, now, policy, paper_sizes)
