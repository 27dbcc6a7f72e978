"""结束考试: a proctor ends a running session in one action.

Allowed once nobody is answering with time left (time is over, or everyone who came has
handed in). Then, in one unit of work: whoever never logged in (or logged in and never
started) is marked absent, whoever is still in the exam with their time over is submitted
at the moment it ran out (as the deadline sweeper would), and the session is ended. The
console lists the no-shows before the proctor confirms (from the `room` it holds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.db import models
from cbt_server.errors import InvalidTransition, StillAnswering
from cbt_server.exam import clock
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SessionState
from cbt_server.runtime.candidate.rows import lock_candidates
from cbt_server.runtime.candidate.submit import close_own_pause, submitted_event
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.facts import room_pause, session_clock_facts

ABSENT_REASON = "结束考试时未登录 never logged in when the session was ended"


@dataclass(slots=True)
class Ending:
    """What ending a session did: tickets marked absent and tickets submitted."""

    absent: list[str] = field(default_factory=list)
    submitted: list[str] = field(default_factory=list)


def _still_answering(names: list[str]) -> StillAnswering:
    shown = "、".join(names[:10]) + ("等" if len(names) > 10 else "")
    return StillAnswering(
        f"尚有 {len(names)} 名考生仍在答题且时间未到：{shown}；"
        f"请待其交卷或考试时间结束后再结束考试 "
        f"({len(names)} candidate(s) still answering with time left)"
    )


async def end_session(
    db: AsyncSession,
    exam: models.ExamSession,
    *,
    actor: str,
    role: str,
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
) -> Ending:
    """End `exam` (locked by the caller) now, as the module says; every check is made
    before anything is written."""
    if exam.state != SessionState.STARTED:
        raise InvalidTransition(f"session {exam.code} is {exam.state}, not started")
    ids = list(
        await db.scalars(select(models.Candidate.id).where(models.Candidate.session_id == exam.id))
    )
    candidates = sorted((await lock_candidates(db, ids)).values(), key=lambda c: c.seat)
    facts = await session_clock_facts(db, exam, candidates, policy)
    plans: list[tuple[models.Candidate, CandidateState, datetime | None]] = []
    running: list[str] = []
    for candidate in candidates:
        at = clock.expired_at(facts[candidate.id], now)
        try:
            new_state, _ = lifecycle.on_end(CandidateState(candidate.state), expired=at is not None)
        except StillAnswering:
            running.append(f"{candidate.seat} 号 {candidate.name}（{candidate.ticket}）")
            continue
        plans.append((candidate, new_state, at))
    if running:
        raise _still_answering(running)

    ending = Ending()
    entries: list[audit.Record] = []
    for candidate, new_state, at in plans:
        if new_state.value == candidate.state:
            continue
        target = audit.candidate_target(exam.code, candidate.ticket)
        candidate.state = new_state.value
        if new_state is CandidateState.ABSENT:
            ending.absent.append(candidate.ticket)
            events.append(Event(Kind.CANDIDATE_ABSENT, exam.id, candidate.id))
            entries.append(
                audit.Record(actor, role, "candidate.absent", target, ABSENT_REASON, at=now)
            )
        else:
            moment = at or now
            candidate.submitted_at = moment
            candidate.submit_reason = lifecycle.SubmitReason.TIMEOUT.value
            await close_own_pause(db, candidate, moment)
            ending.submitted.append(candidate.ticket)
            events.append(submitted_event(candidate, exam, lifecycle.SubmitReason.TIMEOUT, moment))
            entries.append(audit.Record(actor, role, "candidate.timeout", target, at=now))
    exam.state = lifecycle.end_session(SessionState(exam.state)).value
    exam.ended_at = now
    open_pause = await room_pause(db, exam.id)
    if open_pause is not None:
        open_pause.ended_at = now
    await audit.record_many(db, entries)
    events.append(Event(Kind.SESSION_ENDED, exam.id))
    return ending
