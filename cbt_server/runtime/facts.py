"""Reading the stored facts the exam clock is derived from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db.models import Candidate, Downtime, ExamSession, Pause, TimeGrant
from cbt_server.exam.clock import ClockFacts, DowntimePolicy, Grant, Interval
from cbt_server.exam.practice import PRACTICE


def _interval(pause: Pause) -> Interval:
    return Interval(pause.started_at, pause.ended_at)


async def _downtimes(session: AsyncSession, exam: ExamSession) -> tuple[Interval, ...]:
    if exam.started_at is None:
        return ()
    rows = await session.scalars(select(Downtime).where(Downtime.ended_at > exam.started_at))
    return tuple(Interval(row.started_at, row.ended_at) for row in rows)


def _facts(
    exam: ExamSession,
    candidate: Candidate,
    pauses: Sequence[Pause],
    grants: Sequence[TimeGrant],
    downtimes: tuple[Interval, ...],
    policy: DowntimePolicy,
) -> ClockFacts:
    # Every candidate's time counts from the session start: a late arrival is not given
    # the minutes they missed (a proctor can grant extra time with a reason). In practice
    # nobody starts the room: each candidate's clock starts when they begin.
    own_start = exam.mode == PRACTICE
    return ClockFacts(
        duration=timedelta(seconds=exam.duration_s),
        started_at=candidate.started_at if own_start else exam.started_at,
        pauses=tuple(_interval(p) for p in pauses),
        grants=tuple(Grant(g.at, timedelta(seconds=g.seconds)) for g in grants),
        downtimes=downtimes,
        downtime_policy=policy,
        stopped_at=candidate.submitted_at,
    )


async def clock_facts_and_pauses(
    session: AsyncSession, exam: ExamSession, candidate: Candidate, policy: DowntimePolicy
) -> tuple[ClockFacts, list[Pause]]:
    """The clock facts of one candidate, and the pause rows (theirs and the room's)."""
    pauses = list(
        await session.scalars(
            select(Pause).where(
                Pause.session_id == exam.id,
                or_(Pause.candidate_id.is_(None), Pause.candidate_id == candidate.id),
            )
        )
    )
    grants = (
        await session.scalars(select(TimeGrant).where(TimeGrant.candidate_id == candidate.id))
    ).all()
    facts = _facts(exam, candidate, pauses, grants, await _downtimes(session, exam), policy)
    return facts, pauses


async def clock_facts(
    session: AsyncSession, exam: ExamSession, candidate: Candidate, policy: DowntimePolicy
) -> ClockFacts:
    """The clock facts of one candidate: their pauses and the room's, grants, downtime."""
    return (await clock_facts_and_pauses(session, exam, candidate, policy))[0]


async def session_clock_facts(
    session: AsyncSession,
    exam: ExamSession,
    candidates: Sequence[Candidate],
    policy: DowntimePolicy,
) -> dict[int, ClockFacts]:
    """Clock facts of many candidates of one session with a fixed number of queries."""
    return (await session_clock_facts_and_pauses(session, exam, candidates, policy))[0]


async def session_clock_facts_and_pauses(
    session: AsyncSession,
    exam: ExamSession,
    candidates: Sequence[Candidate],
    policy: DowntimePolicy,
) -> tuple[dict[int, ClockFacts], list[Pause]]:
    """Clock facts of many candidates of one session, and the session's pause rows (the
    room's and every candidate's), with a fixed number of queries."""
    pauses = list(await session.scalars(select(Pause).where(Pause.session_id == exam.id)))
    room_pauses = [p for p in pauses if p.candidate_id is None]
    own_pauses: dict[int, list[Pause]] = defaultdict(list)
    for pause in pauses:
        if pause.candidate_id is not None:
            own_pauses[pause.candidate_id].append(pause)
    ids = [c.id for c in candidates]
    grants: dict[int, list[TimeGrant]] = defaultdict(list)
    if ids:
        for grant in await session.scalars(
            select(TimeGrant).where(TimeGrant.candidate_id.in_(ids))
        ):
            grants[grant.candidate_id].append(grant)
    downtimes = await _downtimes(session, exam)
    facts = {
        c.id: _facts(exam, c, room_pauses + own_pauses[c.id], grants[c.id], downtimes, policy)
        for c in candidates
    }
    return facts, pauses


async def room_pause(session: AsyncSession, session_id: int) -> Pause | None:
    """The open whole-room pause of a session, if any."""
    return await session.scalar(
        select(Pause)
        .where(
            Pause.session_id == session_id,
            Pause.candidate_id.is_(None),
            Pause.ended_at.is_(None),
        )
        .limit(1)
    )


async def candidate_pause(session: AsyncSession, candidate_id: int) -> Pause | None:
    """The open pause of one candidate, if any."""
    return await session.scalar(
        select(Pause).where(Pause.candidate_id == candidate_id, Pause.ended_at.is_(None)).limit(1)
    )
