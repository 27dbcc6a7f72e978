"""Practice sessions (练习) in the database: what `session create --mode practice` adds to
a session, the session of a practice code, and the ad-hoc candidate a code login makes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.db import models
from cbt_server.errors import Conflict, InvalidInput, LoginFailed, NotFound
from cbt_server.exam import practice
from cbt_server.exam.state import SessionState


@dataclass(frozen=True, slots=True)
class PracticeSetup:
    """The practice fields of a new session (the code itself is never stored)."""

    feedback: str
    code_hash: str | None


def setup(
    mode: str,
    *,
    feedback: str | None,
    code: str | None,
    untimed: bool,
    late_minutes: int | None,
    min_submit_minutes: int | None,
) -> PracticeSetup | None:
    """Check the practice options of a new session (None for another mode, which must
    not carry them). Without a code, nobody could log in by code: that is allowed (a
    practice of rostered candidates only)."""
    if mode != practice.PRACTICE:
        if feedback is not None or code is not None or untimed:
            raise InvalidInput("--feedback, --practice-code and --untimed are for practice only")
        return None
    if late_minutes is not None or min_submit_minutes is not None:
        raise InvalidInput(
            "a practice has no late admission or earliest hand-in: each candidate's clock "
            "starts when they begin"
        )
    return PracticeSetup(
        feedback=practice.feedback_of(feedback or practice.Feedback.END).value,
        code_hash=practice.code_hash(practice.check_code(code)) if code is not None else None,
    )


async def check_code_free(session: AsyncSession, code_hash: str | None) -> None:
    if code_hash is None:
        return
    taken = await session.scalar(
        select(models.ExamSession.code).where(models.ExamSession.practice_code_hash == code_hash)
    )
    if taken is not None:
        raise Conflict(f"session {taken} has this practice code already: choose another")


def open_now(exam: models.ExamSession, now: datetime) -> None:
    """A practice needs no proctor to start it: it is open from its creation."""
    exam.state = SessionState.STARTED.value
    exam.started_at = now


async def session_of_code(session: AsyncSession, code: str) -> models.ExamSession:
    """The open practice session of this code; LoginFailed (counted like a wrong ticket)
    when there is none."""
    exam = await session.scalar(
        select(models.ExamSession).where(
            models.ExamSession.practice_code_hash == practice.code_hash(code),
            models.ExamSession.mode == practice.PRACTICE,
        )
    )
    if exam is None or exam.state != SessionState.STARTED.value:
        raise LoginFailed("练习码无效或练习已结束 (practice code is wrong or the practice is over)")
    return exam


async def candidate_by_token(
    session: AsyncSession, exam: models.ExamSession, token_hash: str
) -> models.Candidate | None:
    """The candidate of this session holding the login whose resume token hashes so."""
    return await session.scalar(
        select(models.Candidate).where(
            models.Candidate.session_id == exam.id,
            models.Candidate.login_token_hash == token_hash,
        )
    )


async def _seat_taken(session: AsyncSession, session_id: int, seat: int) -> bool:
    found = await session.scalar(
        select(models.Candidate.id).where(
            models.Candidate.session_id == session_id, models.Candidate.seat == seat
        )
    )
    return found is not None


async def add_candidate(
    session: AsyncSession, exam: models.ExamSession, cap: int, pc_seat: int | None = None
) -> models.Candidate:
    """A new ad-hoc practice candidate, at most `cap` a session (every one costs a
    paper): at `pc_seat` (the seat of the lab PC they log in from, so a room with bound
    PCs admits them there) when it is free, else at the next free seat number. Their
    ticket is made up here and their ID number is a random secret, so nobody logs in as
    them by ticket; they come back with their resume token."""
    count, last_seat = (
        await session.execute(
            select(func.count(models.Candidate.id), func.max(models.Candidate.seat)).where(
                models.Candidate.session_id == exam.id
            )
        )
    ).one()
    if count >= cap:
        raise Conflict(
            f"练习人数已满（{cap}人），请联系监考员 (this practice has its {cap} candidates)",
            code="practice_full",
        )
    number = (last_seat or 0) + 1
    if pc_seat is not None and not await _seat_taken(session, exam.id, pc_seat):
        number = pc_seat
    candidate = models.Candidate(
        ticket=f"P{exam.id}-{secrets.token_hex(5).upper()}",
        id_number=secrets.token_hex(9).upper(),
        name=f"练习考生 {number}",
        occupation=exam.occupation,
        level=exam.level,
        session_id=exam.id,
        seat=number,
    )
    session.add(candidate)
    await session.flush()
    return candidate


async def renew_code(
    session: AsyncSession, session_code: str, code: str, *, actor: str, role: str = "lab_admin"
) -> models.ExamSession:
    """Give the practice session `session_code` a new practice code (the old one stops
    working; candidates already in keep their logins): for a code lost or given to the
    wrong people. Only the hash is stored; audited without the code."""
    normal = practice.check_code(code)
    exam = await session.scalar(
        select(models.ExamSession).where(models.ExamSession.code == session_code)
    )
    if exam is None:
        raise NotFound(f"no session {session_code!r}")
    if exam.mode != practice.PRACTICE:
        raise InvalidInput(f"session {session_code} is a {exam.mode} session, not a practice")
    hashed = practice.code_hash(normal)
    await check_code_free(session, hashed)
    exam.practice_code_hash = hashed
    await audit.record(
        session, actor, role, "session.practice_code", target=audit.session_target(exam.code)
    )
    return exam
