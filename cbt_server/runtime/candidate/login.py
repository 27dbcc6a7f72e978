"""A candidate's login on a connection, and the release of that connection."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.errors import AlreadyLoggedIn, AlreadySubmitted, LoginFailed
from cbt_server.exam import rules
from cbt_server.exam import state as lifecycle
from cbt_server.exam.state import CandidateState, SessionState
from cbt_server.exam.ticket_rows import TicketRow, pick_login_row
from cbt_server.lab import pcs as lab_pcs
from cbt_server.runtime.candidate.rows import (
    CANDIDATE_ROLE,
    Holding,
    actor,
    exam_of,
    lock_candidate,
    lock_candidates,
)
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.papers import ensure_papers
from cbt_server.runtime.ws_core import LoggedIn


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _same_id_number(stored: str, given: str) -> bool:
    a = stored.strip().upper().encode()
    b = given.strip().upper().encode()
    return hmac.compare_digest(a, b)


async def registration_for_login(
    session: AsyncSession, ticket: str, id_number: str, resume_token: str | None
) -> int:
    """The candidate row a login by ticket + ID-card number means (the one place that
    looks a candidate up by ticket for a login). A ticket has a row in each session it is
    registered for (the rehearsal and the formal sitting, say): `ticket_rows.pick_login_row`
    chooses among those whose ID-card number matches."""
    found = (
        await session.execute(
            select(
                models.Candidate.id,
                models.Candidate.id_number,
                models.Candidate.state,
                models.Candidate.login_token_hash,
                models.ExamSession.state,
                models.ExamSession.scheduled_at,
                models.ExamSession.started_at,
            )
            .join(models.ExamSession, models.ExamSession.id == models.Candidate.session_id)
            .where(models.Candidate.ticket == ticket.strip())
        )
    ).all()
    presented = token_hash(resume_token) if resume_token else None
    rows = [
        TicketRow(
            candidate_id=cid,
            candidate=CandidateState(cstate),
            session=SessionState(sstate),
            moment=scheduled or started,
            resumes=presented is not None
            and stored is not None
            and hmac.compare_digest(presented, stored),
        )
        for cid, number, cstate, stored, sstate, scheduled, started in found
        if _same_id_number(number, id_number)
    ]
    if not rows:
        raise LoginFailed("ticket number or ID-card number is wrong")
    return pick_login_row(rows).candidate_id


async def login(
    session: AsyncSession,
    cipher: ContentCipher,
    *,
    ticket: str,
    id_number: str,
    resume_token: str | None,
    seat: int | None,
    conn_id: str,
    now: datetime,
    events: list[Event],
    address: str | None = None,
) -> LoggedIn:
    """Log a candidate in on connection `conn_id`, coming from `address`.

    A candidate who logged in before may come back only with the resume token of that
    login (same PC), or after a proctor unlocked them (another PC): then the new login
    takes over and the old connection, wherever it is, is told to close. In a room with
    registered lab PCs a new login must come from the PC of the candidate's seat, or the
    PC a proctor unlocked them to (`lab.pcs.check_login`); a resumed one proved that.
    """
    found = await registration_for_login(session, ticket, id_number, resume_token)
    candidate = await lock_candidate(session, found)
    if not _same_id_number(candidate.id_number, id_number):
        raise LoginFailed("ticket number or ID-card number is wrong")
    exam = await exam_of(session, candidate)
    current = CandidateState(candidate.state)
    if current is CandidateState.REGISTERED:
        is_open = lifecycle.session_accepts_login(SessionState(exam.state))
        rules.check_sitting_open(is_open, exam.title, exam.scheduled_at, now)
    new_state = lifecycle.check_in(current, SessionState(exam.state))
    sitting = rules.SittingRules(exam.late_minutes, exam.min_submit_minutes, exam.calculator)
    rules.check_late_login(current, exam.started_at, now, sitting, admitted=candidate.late_admitted)

    resumed = False
    if candidate.login_token_hash:
        if resume_token and hmac.compare_digest(
            token_hash(resume_token), candidate.login_token_hash
        ):
            token, resumed = resume_token, True
        elif candidate.unlocked:
            token = secrets.token_urlsafe(24)
        elif current in lifecycle.HANDED_IN:
            # Nothing a proctor could unlock: the paper is in. Say so, not "find a proctor".
            raise AlreadySubmitted("this candidate's paper has already been handed in")
        else:
            raise AlreadyLoggedIn(
                "this candidate is logged in on another PC; a proctor must unlock "
                "them before they can log in here"
            )
    else:
        token = secrets.token_urlsafe(24)
    pc = None
    if not resumed:
        pc = await lab_pcs.check_login(
            session,
            candidate_id=candidate.id,
            seat=candidate.seat,
            room_id=exam.room_id,
            unlocked=candidate.unlocked,
            address=address,
        )
    if seat is None and pc is not None:
        seat = pc.seat

    if new_state in (CandidateState.CHECKED_IN, CandidateState.ANSWERING, CandidateState.PAUSED):
        await ensure_papers(session, cipher, exam, [candidate])
    if current is CandidateState.REGISTERED:
        candidate.checked_in_at = now
    if new_state is CandidateState.ANSWERING and candidate.started_at is None:
        candidate.started_at = now
    candidate.state = new_state.value

    previous = candidate.connection_id
    await _record_offline_spell(session, exam, candidate, current, seat, now)
    candidate.connection_id = conn_id
    candidate.login_token_hash = token_hash(token)
    candidate.unlocked = False
    candidate.login_seat = seat
    candidate.last_seen_at = now
    if previous is not None and previous != conn_id:
        events.append(Event(Kind.CANDIDATE_TAKEOVER, exam.id, candidate.id, {"conn_id": conn_id}))
    events.append(Event(Kind.CANDIDATE_CONNECTED, exam.id, candidate.id))
    if not resumed:
        await audit.record(
            session,
            actor(candidate),
            CANDIDATE_ROLE,
            "candidate.login",
            audit.candidate_target(exam.code, candidate.ticket),
            data={"seat": seat, "state": new_state.value}
            | ({"pc": pc.hostname} if pc is not None else {}),
            at=now,
        )
    return LoggedIn(candidate.id, exam.id, conn_id, token)


OFFLINE_RECORDED_S = 30
"""An offline spell in the exam longer than this goes into the room record."""


async def _record_offline_spell(
    session: AsyncSession,
    exam: models.ExamSession,
    candidate: models.Candidate,
    current: CandidateState,
    seat: int | None,
    now: datetime,
) -> None:
    """Audit `candidate.offline` when a candidate comes back after a long spell offline
    while answering (their connection released at `last_seen_at`)."""
    if candidate.connection_id is not None or candidate.last_seen_at is None:
        return
    if exam.state != SessionState.STARTED.value or current not in (
        CandidateState.ANSWERING,
        CandidateState.PAUSED,
    ):
        return
    offline_s = (now - candidate.last_seen_at).total_seconds()
    if offline_s <= OFFLINE_RECORDED_S:
        return
    await audit.record(
        session,
        actor(candidate),
        CANDIDATE_ROLE,
        "candidate.offline",
        audit.candidate_target(exam.code, candidate.ticket),
        data={
            "offline_s": round(offline_s),
            "since": candidate.last_seen_at.isoformat(),
            "seat": seat,
        },
        at=now,
    )


async def disconnect_many(
    session: AsyncSession,
    connections: Sequence[Holding],
    now: datetime,
    events: list[Event],
) -> None:
    """Release the connection slots of these connections where they still hold their
    candidate; all at once (a room leaving after it submitted): one lock of them all,
    one flush."""
    candidates = await lock_candidates(session, [c.candidate_id for c in connections])
    for connection in connections:
        if connection.holds(candidates):
            candidate = candidates[connection.candidate_id]
            candidate.connection_id = None
            candidate.last_seen_at = now
            events.append(Event(Kind.CANDIDATE_DISCONNECTED, candidate.session_id, candidate.id))
    await session.flush()
