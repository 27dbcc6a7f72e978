"""What a candidate's client is told: the full state and the messages of events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.exam import clock, rules
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate.rows import exam_of, get_row
from cbt_server.runtime.candidate_protocol import PAUSE_KINDS
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.facts import candidate_pause, clock_facts, room_pause
from cbt_server.runtime.papers import PaperViews
from item_bank import catalogue


def sitting_rules(exam: models.ExamSession) -> rules.SittingRules:
    return rules.SittingRules(exam.late_minutes, exam.min_submit_minutes, exam.calculator)


async def summary_of(session: AsyncSession, exam: models.ExamSession) -> rules.PaperSummary | None:
    """The paper's figures of the session's blueprint (read once per session object)."""
    blueprint = await session.get(models.Blueprint, exam.blueprint_id)
    return None if blueprint is None else rules.paper_summary(blueprint.spec)


def session_info(
    exam: models.ExamSession, summary: rules.PaperSummary | None = None
) -> msg.SessionInfo:
    sitting = sitting_rules(exam)
    return msg.SessionInfo(
        id=exam.id,
        code=exam.code,
        title=exam.title,
        state=SessionState(exam.state),
        show_scores=exam.show_scores,
        duration_ms=exam.duration_s * 1000,
        started_at=exam.started_at,
        items=summary.items if summary else None,
        total_score=summary.total_score if summary else None,
        pass_mark=summary.pass_mark if summary else None,
        late_minutes=sitting.late_minutes,
        min_submit_minutes=sitting.min_submit_minutes or None,
        submit_opens_at=rules.submit_opens_at(exam.started_at, sitting),
        calculator=sitting.calculator,
        mode=cast(msg.SessionMode, exam.mode),
        feedback=cast(msg.FeedbackMode | None, exam.feedback),
        untimed=exam.untimed,
    )


def candidate_info(candidate: models.Candidate) -> msg.CandidateInfo:
    occupation = catalogue.occupation(candidate.occupation)
    return msg.CandidateInfo(
        # who, where they sit and how far they are; then what they are examined in
        ticket=candidate.ticket,
        name=candidate.name,
        seat=candidate.seat,
        state=CandidateState(candidate.state),
        submit_reason=SubmitReason(candidate.submit_reason) if candidate.submit_reason else None,
        occupation=occupation.code,
        occupation_name=occupation.name_zh,
        level=candidate.level,
        level_name=catalogue.level_name(candidate.level),
    )


@dataclass(frozen=True, slots=True)
class Timing:
    remaining_ms: int
    paused: bool
    scope: msg.PauseScope | None
    extra_ms: int


async def timing(
    session: AsyncSession,
    exam: models.ExamSession,
    candidate: models.Candidate,
    now: datetime,
    policy: DowntimePolicy,
) -> Timing:
    facts = await clock_facts(session, exam, candidate, policy)
    scope: msg.PauseScope | None = None
    if CandidateState(candidate.state) not in lifecycle.FINISHED:
        scope = pause_scope(
            room_paused=await room_pause(session, exam.id) is not None,
            own_paused=await candidate_pause(session, candidate.id) is not None,
        )
    extra = clock.extra_time(facts, now)
    return Timing(
        remaining_ms=clock.remaining_ms(facts, now),
        paused=scope is not None,
        scope=scope,
        extra_ms=extra // timedelta(milliseconds=1),
    )


def pause_scope(*, room_paused: bool, own_paused: bool) -> msg.PauseScope | None:
    """Which pause holds an unfinished candidate: the room's first, then their own."""
    if room_paused:
        return "room"
    return "candidate" if own_paused else None


def result_view_of(row: models.Result) -> msg.ResultView:
    return msg.ResultView(
        total=row.score, max_total=row.max_score, pass_mark=row.pass_mark, passed=row.passed
    )


async def result_view(
    session: AsyncSession, exam: models.ExamSession, candidate: models.Candidate
) -> msg.ResultView | None:
    if not exam.show_scores:
        return None
    row = await session.scalar(
        select(models.Result).where(models.Result.candidate_id == candidate.id)
    )
    return None if row is None else result_view_of(row)


def state_message(
    exam: models.ExamSession,
    candidate: models.Candidate,
    *,
    paper: msg.PaperView | None,
    answers: Sequence[models.Answer],
    remaining_ms: int,
    scope: msg.PauseScope | None,
    result: msg.ResultView | None,
    now: datetime,
    token: str | None,
    summary: rules.PaperSummary | None = None,
) -> msg.State:
    """The `state` message from what was read (one candidate, or a whole room at once)."""
    return msg.State(
        server_time=now,
        session=session_info(exam, summary),
        candidate=candidate_info(candidate),
        paper=paper,
        answers={a.item_id: list(a.response) for a in answers if a.response},
        flags=sorted(a.item_id for a in answers if a.flagged),
        remaining_ms=remaining_ms,
        paused=scope is not None,
        pause_scope=scope,
        acked_seq=candidate.acked_seq,
        resume_token=token,
        result=result,
        checked=sorted(a.item_id for a in answers if a.checked_at is not None),
    )


async def candidate_state(
    session: AsyncSession,
    views: PaperViews,
    candidate_id: int,
    now: datetime,
    policy: DowntimePolicy,
    *,
    token: str | None = None,
) -> msg.State:
    """The full state of one candidate as their client receives it on every (re)connect."""
    candidate = await get_row(session, models.Candidate, candidate_id, "candidate")
    exam = await exam_of(session, candidate)
    state = CandidateState(candidate.state)
    paper = None
    # Item content only once the session started, and only while answering.
    if SessionState(exam.state) is SessionState.STARTED and state in lifecycle.IN_EXAM:
        paper = await views.of_candidate(session, candidate.id)
    elif state is CandidateState.CHECKED_IN:
        # Build the view now, while the room checks in, so that the start only sends it:
        # the same work for every candidate at once was what bounded the start.
        await views.of_candidate(session, candidate.id)
    answers = (
        await session.scalars(
            select(models.Answer).where(models.Answer.candidate_id == candidate.id)
        )
    ).all()
    times = await timing(session, exam, candidate, now, policy)
    return state_message(
        exam,
        candidate,
        paper=paper,
        answers=answers,
        remaining_ms=times.remaining_ms,
        scope=times.scope,
        result=await result_view(session, exam, candidate),
        now=now,
        token=token,
        summary=await summary_of(session, exam),
    )


async def event_message(
    session: AsyncSession, candidate_id: int, event: Event, now: datetime, policy: DowntimePolicy
) -> msg.Message | None:
    """What a candidate's client is told of an event that does not carry it: their pause
    or its end, a new remaining time, their submission, their result (None: nothing)."""
    candidate = await get_row(session, models.Candidate, candidate_id, "candidate")
    exam = await exam_of(session, candidate)
    if event.kind in PAUSE_KINDS:
        if exam.state != SessionState.STARTED:
            return None
        times = await timing(session, exam, candidate, now, policy)
        if times.scope is not None:
            return msg.PausedMsg(
                scope=times.scope,
                reason=await _pause_reason(session, exam.id, candidate.id),
                remaining_ms=times.remaining_ms,
                server_time=now,
            )
        return msg.Resumed(remaining_ms=times.remaining_ms, server_time=now)
    if event.kind is Kind.CANDIDATE_TIME:
        times = await timing(session, exam, candidate, now, policy)
        return msg.Time(
            remaining_ms=times.remaining_ms,
            server_time=now,
            extra_ms=times.extra_ms,
            reason=str(event.data.get("reason", ""))[:500],
        )
    if event.kind is Kind.CANDIDATE_SUBMITTED and candidate.submitted_at is not None:
        return msg.Submitted(
            reason=SubmitReason(candidate.submit_reason or "candidate"),
            submitted_at=candidate.submitted_at,
        )
    if event.kind is Kind.CANDIDATE_GRADED:
        result = await result_view(session, exam, candidate)
        if result is not None:
            return msg.Result(**result.model_dump())
    return None


async def _pause_reason(session: AsyncSession, session_id: int, candidate_id: int) -> str:
    pause = await room_pause(session, session_id) or await candidate_pause(session, candidate_id)
    return pause.reason[:500] if pause is not None else ""
