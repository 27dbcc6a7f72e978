"""Proctor commands on a session and its candidates, and the room view of a console.

Each command runs in the caller's transaction, checks the life-cycle rules, writes the
stored facts the clock is derived from (pauses, grants, submission times), appends an
audit entry (who, when, what, why) and change events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.enrolment.layout import seat_plan
from cbt_server.enrolment.photo_store import with_photos
from cbt_server.errors import InvalidTransition, NotFound, TimeUp
from cbt_server.exam import clock
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.protocol import ErrorCode, Message, ProtocolError
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


@dataclass(frozen=True, slots=True)
class Order:
    """Where a command is carried out: in which transaction and session, by whom, when,
    with the events it appends to (and the cipher and clock policy some commands need)."""

    db: AsyncSession
    session_id: int
    who: Actor
    now: datetime
    events: list[Event]
    cipher: ContentCipher
    policy: DowntimePolicy

    async def exam(self) -> models.ExamSession:
        """The session, locked for update."""
        return await lock_session(self.db, self.session_id)

    async def seat(
        self, candidate_id: int, *, started: bool = False
    ) -> tuple[models.ExamSession, models.Candidate]:
        """The session and one of its candidates, both locked for update (the session
        checked to be started first, if `started`)."""
        exam = await self.exam()
        if started:
            _require_started(exam)
        candidate = await lock_candidate(self.db, candidate_id)
        if candidate.session_id != exam.id:
            raise NotFound(f"candidate {candidate_id} is not in session {exam.code}")
        return exam, candidate

    async def record(
        self,
        action: str,
        exam: models.ExamSession,
        candidate: models.Candidate | None = None,
        reason: str = "",
        data: dict[str, object] | None = None,
    ) -> None:
        """The audit entry of the command: who, when, what, on whom, why."""
        target = (
            audit.candidate_target(exam.code, candidate.ticket)
            if candidate is not None
            else audit.session_target(exam.code)
        )
        who = self.who
        await audit.record(
            self.db, who.username, who.role, action, target, reason, dict(data or {}), at=self.now
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


async def open_checkin(order: Order, command: msg.OpenCheckin) -> None:
    exam = await order.exam()
    exam.state = lifecycle.open_checkin(SessionState(exam.state)).value
    await order.record("session.open_checkin", exam)
    order.events.append(Event(Kind.SESSION_CHECKIN, exam.id))


async def start(order: Order, command: msg.Start) -> int:
    """Start the session: the clock starts for everyone; returns how many begin answering.

    Papers were assembled when candidates were registered or checked in; any checked-in
    candidate still without one gets it now (or the start is refused, naming why).
    """
    exam = await order.exam()
    exam.state = lifecycle.start_session(SessionState(exam.state)).value
    exam.started_at = order.now
    exam.started_by = order.who.username
    candidates = await _candidates(order.db, exam.id)
    waiting = [c for c in candidates if c.state == CandidateState.CHECKED_IN]
    await ensure_papers(order.db, order.cipher, exam, waiting)
    for candidate in waiting:
        candidate.state = lifecycle.on_session_start(CandidateState(candidate.state)).value
        candidate.started_at = order.now
    await order.record("session.start", exam, data={"answering": len(waiting)})
    order.events.append(Event(Kind.SESSION_STARTED, exam.id))
    return len(waiting)


def _require_started(exam: models.ExamSession) -> None:
    if exam.state != SessionState.STARTED:
        raise InvalidTransition(f"session {exam.code} is {exam.state}, not started")


async def pause(order: Order, command: msg.Pause) -> None:
    """Pause one candidate, or the whole room (`candidate_id` None)."""
    db, now, by, reason = order.db, order.now, order.who.username, command.reason
    if command.candidate_id is None:
        exam = await order.exam()
        _require_started(exam)
        if await room_pause(db, exam.id) is not None:
            raise InvalidTransition("the room is paused already")
        db.add(models.Pause(session_id=exam.id, started_at=now, reason=reason, by=by))
        await order.record("session.pause", exam, None, reason)
        order.events.append(Event(Kind.SESSION_PAUSED, exam.id))
        return
    exam, candidate = await order.seat(command.candidate_id, started=True)
    candidate.state = lifecycle.pause(CandidateState(candidate.state)).value
    db.add(
        models.Pause(
            session_id=exam.id, candidate_id=candidate.id, started_at=now, reason=reason, by=by
        )
    )
    await order.record("candidate.pause", exam, candidate, reason)
    order.events.append(Event(Kind.CANDIDATE_PAUSED, exam.id, candidate.id))


async def resume(order: Order, command: msg.Resume) -> None:
    """End the pause of one candidate, or of the whole room (`candidate_id` None)."""
    if command.candidate_id is None:
        exam = await order.exam()
        open_pause = await room_pause(order.db, exam.id)
        if open_pause is None:
            raise InvalidTransition("the room is not paused")
        open_pause.ended_at = order.now
        await order.record("session.resume", exam, None, command.reason)
        order.events.append(Event(Kind.SESSION_RESUMED, exam.id))
        return
    exam, candidate = await order.seat(command.candidate_id)
    candidate.state = lifecycle.resume(CandidateState(candidate.state)).value
    own = await candidate_pause(order.db, candidate.id)
    if own is not None:
        own.ended_at = order.now
    await order.record("candidate.resume", exam, candidate, command.reason)
    order.events.append(Event(Kind.CANDIDATE_RESUMED, exam.id, candidate.id))


async def extra_time(order: Order, command: msg.ExtraTime) -> None:
    """Grant extra time to a candidate still in the exam and not yet out of time."""
    exam, candidate = await order.seat(command.candidate_id, started=True)
    if CandidateState(candidate.state) not in lifecycle.IN_EXAM:
        raise InvalidTransition(f"cannot grant extra time in state {candidate.state!r}")
    if clock.is_expired(await clock_facts(order.db, exam, candidate, order.policy), order.now):
        raise TimeUp("the candidate's time has already run out")
    seconds, reason = command.seconds, command.reason
    if seconds <= 0:
        raise InvalidTransition("extra time must be positive")
    by, at = order.who.username, order.now
    order.db.add(
        models.TimeGrant(candidate_id=candidate.id, seconds=seconds, reason=reason, by=by, at=at)
    )
    await order.record("candidate.extra_time", exam, candidate, reason, {"seconds": seconds})
    order.events.append(Event(Kind.CANDIDATE_TIME, exam.id, candidate.id, {"reason": reason}))


async def unlock(order: Order, command: msg.Unlock) -> None:
    """Let a candidate log in on another PC; that login will close the old connection."""
    exam, candidate = await order.seat(command.candidate_id)
    if CandidateState(candidate.state) is CandidateState.ABSENT:
        raise InvalidTransition("cannot unlock an absent candidate")
    candidate.unlocked = True
    await order.record("candidate.unlock", exam, candidate, command.reason)
    order.events.append(Event(Kind.CANDIDATE_UNLOCKED, exam.id, candidate.id))


async def force_submit(order: Order, command: msg.ForceSubmit) -> None:
    exam, candidate = await order.seat(command.candidate_id)
    mark_submitted(candidate, exam, SubmitReason.PROCTOR, order.now, order.events)
    await close_own_pause(order.db, candidate, order.now)
    await order.record("candidate.force_submit", exam, candidate, command.reason)


async def mark_absent(order: Order, command: msg.MarkAbsent) -> None:
    exam, candidate = await order.seat(command.candidate_id)
    candidate.state = lifecycle.mark_absent(CandidateState(candidate.state)).value
    await order.record("candidate.absent", exam, candidate, command.reason)
    order.events.append(Event(Kind.CANDIDATE_ABSENT, exam.id, candidate.id))


async def verify_identity(order: Order, command: msg.VerifyIdentity) -> None:
    """Mark a candidate 已核验 (identity checked at the seat); the first check stands."""
    exam, candidate = await order.seat(command.candidate_id)
    if CandidateState(candidate.state) is CandidateState.ABSENT:
        raise InvalidTransition("cannot check the identity of an absent candidate")
    if candidate.identity_checked_at is not None:
        return
    candidate.identity_checked_at = order.now
    candidate.identity_checked_by = order.who.username
    await order.record("candidate.identity_checked", exam, candidate, command.reason)
    order.events.append(Event(Kind.CANDIDATE_VERIFIED, exam.id, candidate.id))


async def note(order: Order, command: msg.Note) -> None:
    """Add an entry to the room record (考场记录表)."""
    exam = await order.exam()
    order.db.add(
        models.RoomNote(
            session_id=exam.id, at=order.now, author=order.who.username, text=command.text
        )
    )
    await order.record("session.note", exam, None, command.text)


COMMANDS: dict[type[Message], Callable[[Order, Any], Awaitable[object]]] = {
    msg.OpenCheckin: open_checkin,
    msg.Start: start,
    msg.Pause: pause,
    msg.Resume: resume,
    msg.ExtraTime: extra_time,
    msg.Unlock: unlock,
    msg.ForceSubmit: force_submit,
    msg.MarkAbsent: mark_absent,
    msg.VerifyIdentity: verify_identity,
    msg.Note: note,
}
"""Each command of a console, and what carries it out."""


async def carry_out(order: Order, command: Message) -> None:
    """Carry out one command of a console in its unit of work."""
    command_of = COMMANDS.get(type(command))
    if command_of is None:  # pragma: no cover - the parser admits no other type
        raise ProtocolError(ErrorCode.UNEXPECTED, f"unexpected {command!r}")
    await command_of(order, command)


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
    photos = await with_photos(session, ids)
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
    candidates = await _candidates(session, exam.id)
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
