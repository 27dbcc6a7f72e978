"""A candidate's submission: their own (many connections' at once), or on their behalf."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.db import models
from cbt_server.errors import DomainError, StaleSeq, TimeUp
from cbt_server.exam import clock, rules
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SubmitReason
from cbt_server.runtime.candidate.rows import CANDIDATE_ROLE, Holding, actor, locked_with_exams
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.facts import candidate_pause, session_clock_facts_and_pauses


def submitted_event(
    candidate: models.Candidate, exam: models.ExamSession, reason: SubmitReason, at: datetime
) -> Event:
    """The event of a submission; it carries what the candidate's `submitted` message says,
    so that a room submitting together is told without a read per candidate."""
    data = {"reason": reason.value, "at": at.isoformat()}
    return Event(Kind.CANDIDATE_SUBMITTED, exam.id, candidate.id, data)


def mark_submitted(
    candidate: models.Candidate,
    exam: models.ExamSession,
    reason: SubmitReason,
    at: datetime,
    events: list[Event],
    *,
    room_paused: bool = False,
) -> None:
    """Apply a submission to a locked candidate row (state, time, reason, event)."""
    new_state = lifecycle.submit(CandidateState(candidate.state), reason, room_paused=room_paused)
    candidate.state = new_state.value
    candidate.submitted_at = at
    candidate.submit_reason = reason.value
    events.append(submitted_event(candidate, exam, reason, at))


async def close_own_pause(session: AsyncSession, candidate: models.Candidate, at: datetime) -> None:
    """End a submitted candidate's own open pause (their clock stopped anyway)."""
    own = await candidate_pause(session, candidate.id)
    if own is not None:
        own.ended_at = max(own.started_at, at)


@dataclass(frozen=True, slots=True)
class SubmitRequest(Holding):
    """One connection's `submit`."""

    seq: int


SubmitOutcome = bool | DomainError
"""True if submitted now, False for a resend of an applied submit, or why it was refused
(then nothing of it was written)."""


async def submit_many(
    session: AsyncSession,
    requests: Sequence[SubmitRequest],
    *,
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
) -> list[SubmitOutcome]:
    """The candidates submit their papers: the submits of many connections (a room
    finishing together, or one alone) in request order, with a fixed number of queries
    whatever their number: the candidates locked together, their clock facts read
    together, the audit entries appended together. Each is checked before anything of
    it is written."""
    candidates, exams = await locked_with_exams(session, [r.candidate_id for r in requests])
    facts: dict[int, clock.ClockFacts] = {}
    room_paused: dict[int, bool] = {}
    for exam in exams.values():
        of_exam = [c for c in candidates.values() if c.session_id == exam.id]
        exam_facts, pauses = await session_clock_facts_and_pauses(session, exam, of_exam, policy)
        facts.update(exam_facts)
        room_paused[exam.id] = any(p.candidate_id is None and p.ended_at is None for p in pauses)
    outcomes: list[SubmitOutcome] = []
    entries: list[audit.Record] = []
    for r in requests:
        refused = r.refusal(candidates)
        if refused is not None:
            outcomes.append(refused)
            continue
        candidate = candidates[r.candidate_id]
        if r.seq <= candidate.acked_seq:
            # A resend: acknowledged again only if the paper is in fact submitted (the
            # submit was applied, or the time or a proctor submitted it meanwhile).
            finished = candidate.state in (CandidateState.SUBMITTED, CandidateState.GRADED)
            outcomes.append(False if finished else _stale_submit(r.seq, candidate))
            continue
        exam = exams[candidate.session_id]
        try:
            expired = clock.is_expired(facts[candidate.id], now)
            if CandidateState(candidate.state) in lifecycle.IN_EXAM and expired:
                raise TimeUp("time is up; the paper is being submitted automatically")
            if CandidateState(candidate.state) in lifecycle.IN_EXAM:
                sitting = rules.SittingRules(exam.late_minutes, exam.min_submit_minutes)
                rules.check_submit_time(SubmitReason.CANDIDATE, exam.started_at, now, sitting)
            mark_submitted(
                candidate,
                exam,
                SubmitReason.CANDIDATE,
                now,
                events,
                room_paused=room_paused[exam.id],
            )
        except DomainError as error:
            outcomes.append(error)
            continue
        candidate.acked_seq = r.seq
        candidate.last_seen_at = now
        target = audit.candidate_target(exam.code, candidate.ticket)
        entries.append(
            audit.Record(actor(candidate), CANDIDATE_ROLE, "candidate.submit", target, at=now)
        )
        outcomes.append(True)
    await audit.record_many(session, entries)
    return outcomes


def _stale_submit(seq: int, candidate: models.Candidate) -> StaleSeq:
    return StaleSeq(
        f"submit seq {seq} was never applied and is not above the last acknowledged "
        f"({candidate.acked_seq}); send it again under a new number"
    )
