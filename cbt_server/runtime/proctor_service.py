"""Proctor commands on a session and its candidates (the console's view of the room is
in `console_view`).

Each command runs in the caller's transaction, checks the life-cycle rules, writes the
stored facts the clock is derived from (pauses, grants, submission times), appends an
audit entry (who, when, what, why) and change events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.enrolment.modes import check_start
from cbt_server.errors import InvalidTransition, NotFound, TimeUp
from cbt_server.exam import clock
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.lab import pcs as lab_pcs
from cbt_server.protocol import ErrorCode, Message, ProtocolError
from cbt_server.protocol import proctor as msg
from cbt_server.runtime import ending
from cbt_server.runtime.candidate.rows import get_row, lock_candidate
from cbt_server.runtime.candidate.submit import close_own_pause, mark_submitted
from cbt_server.runtime.console_view import session_candidates
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.facts import candidate_pause, clock_facts, room_pause
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
    await check_start(order.db, exam, order.now)
    exam.started_at = order.now
    exam.started_by = order.who.username
    candidates = await session_candidates(order.db, exam.id)
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
    pc = await lab_pcs.unlock_to(order.db, candidate.id, exam.room_id, command.pc)
    await order.record(
        "candidate.unlock", exam, candidate, command.reason, {"pc": pc} if pc else None
    )
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


async def admit_late(order: Order, command: msg.AdmitLate) -> None:
    """Let a candidate log in past the late-admission limit; the reason goes on record."""
    exam, candidate = await order.seat(command.candidate_id)
    if CandidateState(candidate.state) is not CandidateState.REGISTERED:
        raise InvalidTransition(f"cannot admit late in state {candidate.state!r}")
    candidate.late_admitted = True
    await order.record("candidate.admit_late", exam, candidate, command.reason)
    order.events.append(Event(Kind.CANDIDATE_UNLOCKED, exam.id, candidate.id))


async def end_session(order: Order, command: msg.EndSession) -> None:
    """结束考试 (`ending.end_session`), recorded with who was marked absent or submitted."""
    exam = await order.exam()
    who = order.who
    done = await ending.end_session(
        order.db,
        exam,
        actor=who.username,
        role=who.role,
        now=order.now,
        policy=order.policy,
        events=order.events,
    )
    data: dict[str, object] = {"absent": done.absent, "submitted": done.submitted}
    await order.record("session.end", exam, None, command.reason, data)


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
    msg.EndSession: end_session,
    msg.AdmitLate: admit_late,
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
