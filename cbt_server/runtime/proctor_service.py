"""Proctor commands on a session and its candidates, and the room view of a console.

Each command runs in the caller's transaction, checks the life-cycle rules, writes the
stored facts the clock is derived from (pauses, grants, submission times), appends an
audit entry (who, when, what, why) and change events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.errors import InvalidTransition, NotFound, TimeUp
from cbt_server.exam import clock
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.protocol import proctor as msg
from cbt_server.runtime.candidate.rows import get_row, lock_candidate
from cbt_server.runtime.candidate.submit import close_own_pause, mark_submitted
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.facts import candidate_pause, clock_facts, room_pause, session_clock_facts
from cbt_server.runtime.papers import ensure_papers


@dataclass(frozen=True, slots=True)
class Actor:
    """Who gives a command: their username and role (for the audit log)."""

    username: str
    role: str


async def lock_session(session: AsyncSession, session_id: int) -> models.ExamSession:
    return await get_row(session, models.ExamSession, session_id, "session", lock=True)


async def _candidate_of(
    session: AsyncSession, exam: models.ExamSession, candidate_id: int
) -> models.Candidate:
    candidate = await lock_candidate(session, candidate_id)
    if candidate.session_id != exam.id:
        raise NotFound(f"candidate {candidate_id} is not in session {exam.code}")
    return candidate


async def _audit(
    session: AsyncSession,
    who: Actor,
    action: str,
    exam: models.ExamSession,
    candidate: models.Candidate | None,
    reason: str,
    now: datetime,
    data: dict[str, object] | None = None,
) -> None:
    target = (
        audit.candidate_target(exam.code, candidate.ticket)
        if candidate is not None
        else audit.session_target(exam.code)
    )
    await audit.record(
        session, who.username, who.role, action, target, reason, dict(data or {}), at=now
    )


async def _candidates(session: AsyncSession, session_id: int) -> list[models.Candidate]:
    return list(
        await session.scalars(
            select(models.Candidate)
            .where(models.Candidate.session_id == session_id)
            .order_by(models.Candidate.seat)
            .execution_options(populate_existing=True)
        )
    )


# --- session-wide ---------------------------------------------------------------------


async def open_checkin(
    session: AsyncSession, session_id: int, who: Actor, now: datetime, events: list[Event]
) -> None:
    exam = await lock_session(session, session_id)
    exam.state = lifecycle.open_checkin(SessionState(exam.state)).value
    await _audit(session, who, "session.open_checkin", exam, None, "", now)
    events.append(Event(Kind.SESSION_CHECKIN, exam.id))


async def start(
    session: AsyncSession,
    cipher: ContentCipher,
    session_id: int,
    who: Actor,
    now: datetime,
    events: list[Event],
) -> int:
    """Start the session: the clock starts for everyone; returns how many begin answering.

    Papers were assembled when candidates were registered or checked in; any checked-in
    candidate still without one gets it now (or the start is refused, naming why).
    """
    exam = await lock_session(session, session_id)
    exam.state = lifecycle.start_session(SessionState(exam.state)).value
    exam.started_at = now
    exam.started_by = who.username
    candidates = await _candidates(session, exam.id)
    waiting = [c for c in candidates if c.state == CandidateState.CHECKED_IN]
    await ensure_papers(session, cipher, exam, waiting)
    for candidate in waiting:
        candidate.state = lifecycle.on_session_start(CandidateState(candidate.state)).value
        candidate.started_at = now
    await _audit(session, who, "session.start", exam, None, "", now, {"answering": len(waiting)})
    events.append(Event(Kind.SESSION_STARTED, exam.id))
    return len(waiting)


def _require_started(exam: models.ExamSession) -> None:
    if exam.state != SessionState.STARTED:
        raise InvalidTransition(f"session {exam.code} is {exam.state}, not started")


async def pause(
    session: AsyncSession,
    session_id: int,
    candidate_id: int | None,
    reason: str,
    who: Actor,
    now: datetime,
    events: list[Event],
) -> None:
    """Pause one candidate, or the whole room (`candidate_id` None)."""
    exam = await lock_session(session, session_id)
    _require_started(exam)
    if candidate_id is None:
        if await room_pause(session, exam.id) is not None:
            raise InvalidTransition("the room is paused already")
        session.add(
            models.Pause(session_id=exam.id, started_at=now, reason=reason, by=who.username)
        )
        await _audit(session, who, "session.pause", exam, None, reason, now)
        events.append(Event(Kind.SESSION_PAUSED, exam.id))
        return
    candidate = await _candidate_of(session, exam, candidate_id)
    candidate.state = lifecycle.pause(CandidateState(candidate.state)).value
    session.add(
        models.Pause(
            session_id=exam.id,
            candidate_id=candidate.id,
            started_at=now,
            reason=reason,
            by=who.username,
        )
    )
    await _audit(session, who, "candidate.pause", exam, candidate, reason, now)
    events.append(Event(Kind.CANDIDATE_PAUSED, exam.id, candidate.id))


async def resume(
    session: AsyncSession,
    session_id: int,
    candidate_id: int | None,
    reason: str,
    who: Actor,
    now: datetime,
    events: list[Event],
) -> None:
    """End the pause of one candidate, or of the whole room (`candidate_id` None)."""
    exam = await lock_session(session, session_id)
    if candidate_id is None:
        open_pause = await room_pause(session, exam.id)
        if open_pause is None:
            raise InvalidTransition("the room is not paused")
        open_pause.ended_at = now
        await _audit(session, who, "session.resume", exam, None, reason, now)
        events.append(Event(Kind.SESSION_RESUMED, exam.id))
        return
    candidate = await _candidate_of(session, exam, candidate_id)
    candidate.state = lifecycle.resume(CandidateState(candidate.state)).value
    own = await candidate_pause(session, candidate.id)
    if own is not None:
        own.ended_at = now
    await _audit(session, who, "candidate.resume", exam, candidate, reason, now)
    events.append(Event(Kind.CANDIDATE_RESUMED, exam.id, candidate.id))


async def extra_time(
    session: AsyncSession,
    session_id: int,
    candidate_id: int,
    seconds: int,
    reason: str,
    who: Actor,
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
) -> None:
    """Grant extra time to a candidate still in the exam and not yet out of time."""
    exam = await lock_session(session, session_id)
    _require_started(exam)
    candidate = await _candidate_of(session, exam, candidate_id)
    if CandidateState(candidate.state) not in lifecycle.IN_EXAM:
        raise InvalidTransition(f"cannot grant extra time in state {candidate.state!r}")
    if clock.is_expired(await clock_facts(session, exam, candidate, policy), now):
        raise TimeUp("the candidate's time has already run out")
    if seconds <= 0:
        raise InvalidTransition("extra time must be positive")
    session.add(
        models.TimeGrant(
            candidate_id=candidate.id, seconds=seconds, reason=reason, by=who.username, at=now
        )
    )
    await _audit(
        session, who, "candidate.extra_time", exam, candidate, reason, now, {"seconds": seconds}
    )
    events.append(Event(Kind.CANDIDATE_TIME, exam.id, candidate.id, {"reason": reason}))


async def unlock(
    session: AsyncSession,
    session_id: int,
    candidate_id: int,
    reason: str,
    who: Actor,
    now: datetime,
    events: list[Event],
) -> None:
    """Let a candidate log in on another PC; that login will close the old connection."""
    exam = await lock_session(session, session_id)
    candidate = await _candidate_of(session, exam, candidate_id)
    if CandidateState(candidate.state) is CandidateState.ABSENT:
        raise InvalidTransition("cannot unlock an absent candidate")
    candidate.unlocked = True
    await _audit(session, who, "candidate.unlock", exam, candidate, reason, now)
    events.append(Event(Kind.CANDIDATE_UNLOCKED, exam.id, candidate.id))


async def force_submit(
    session: AsyncSession,
    session_id: int,
    candidate_id: int,
    reason: str,
    who: Actor,
    now: datetime,
    events: list[Event],
) -> None:
    exam = await lock_session(session, session_id)
    candidate = await _candidate_of(session, exam, candidate_id)
    mark_submitted(candidate, exam, SubmitReason.PROCTOR, now, events)
    await close_own_pause(session, candidate, now)
    await _audit(session, who, "candidate.force_submit", exam, candidate, reason, now)


async def mark_absent(
    session: AsyncSession,
    session_id: int,
    candidate_id: int,
    reason: str,
    who: Actor,
    now: datetime,
    events: list[Event],
) -> None:
    exam = await lock_session(session, session_id)
    candidate = await _candidate_of(session, exam, candidate_id)
    candidate.state = lifecycle.mark_absent(CandidateState(candidate.state)).value
    await _audit(session, who, "candidate.absent", exam, candidate, reason, now)
    events.append(Event(Kind.CANDIDATE_ABSENT, exam.id, candidate.id))


async def note(
    session: AsyncSession,
    session_id: int,
    text: str,
    who: Actor,
    now: datetime,
    events: list[Event],
) -> None:
    """Add an entry to the room record (考场记录表)."""
    exam = await lock_session(session, session_id)
    session.add(models.RoomNote(session_id=exam.id, at=now, author=who.username, text=text))
    await _audit(session, who, "session.note", exam, None, text, now)


# --- the console's view ---------------------------------------------------------------


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
    answered = await _answered_counts(session, ids)
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
    candidates = await _candidates(session, exam.id)
    return msg.Room(
        server_time=now,
        session_id=exam.id,
        session_code=exam.code,
        title=exam.title,
        state=SessionState(exam.state),
        room_paused=await room_pause(session, exam.id) is not None,
        duration_ms=exam.duration_s * 1000,
        started_at=exam.started_at,
        candidates=await seat_views(session, exam, candidates, now, policy, paper_sizes),
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
