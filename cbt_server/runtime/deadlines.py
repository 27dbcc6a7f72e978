"""Auto-submit at the deadline, for online and offline candidates alike.

Nothing here keeps a timer per candidate. A sweeper reads the stored facts, submits every
candidate whose time has run out (at the exact moment it ran out), grades what is
submitted but not yet graded, ends sessions with nobody left in them, and sleeps until the
next deadline (reading the rooms again at least every 30 s, and at once when a clock
event wakes it; grading and ending empty rooms every few seconds). After a
restart the first sweep catches up with whatever fell due while the server was down.
Every process may sweep: each step locks the candidate row and re-checks, so a candidate
is submitted once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.db import models
from cbt_server.exam import clock
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.practice import PRACTICE
from cbt_server.exam.state import CandidateState, SessionState
from cbt_server.runtime.candidate.rows import lock_candidate, lock_candidates
from cbt_server.runtime.candidate.submit import close_own_pause, submitted_event
from cbt_server.runtime.context import Runtime
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.facts import clock_facts, room_pause, session_clock_facts
from cbt_server.runtime.grading_service import grade_many
from cbt_server.runtime.tasks import raise_if_cancelling

log = logging.getLogger(__name__)

SYSTEM = "system"
MAX_SLEEP = 5.0
"""Longest sleep between passes (the light pass, when nothing else is due)."""
FULL_SCAN_EVERY = 30.0
"""Longest time between full sweeps when no deadline falls due sooner and no clock event
asks for one. Deadlines only move later without a clock event (downtime given back), so a
late full sweep never submits anyone late; a full sweep of a room of 2,000 holds the one
core for about 0.1 s, and every 5 s that was a steady share of the answers' tail."""
SWEEP_GAP = 0.5
"""Least seconds from one sweep's start to the next. A sweep reads the whole room, and a
room submitting together wakes the sweeper once per candidate: without the gap a room of
2,000 swept 2,000 times in a minute, and answers waited behind it."""
OPEN = (SessionState.CHECKIN.value, SessionState.STARTED.value)
"""Sessions people are in: checking in, or taking the exam."""
ACTIVE = (
    CandidateState.REGISTERED,
    CandidateState.CHECKED_IN,
    CandidateState.ANSWERING,
    CandidateState.PAUSED,
)


async def expire(
    session: AsyncSession,
    candidate_id: int,
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
) -> bool:
    """Apply the deadline to one candidate if it has passed; True if anything changed."""
    candidate = await lock_candidate(session, candidate_id)
    state = CandidateState(candidate.state)
    if state not in ACTIVE:
        return False
    exam = await session.get(models.ExamSession, candidate.session_id, populate_existing=True)
    if exam is None or exam.state != SessionState.STARTED:
        return False
    at = clock.expired_at(await clock_facts(session, exam, candidate, policy), now)
    if at is None:
        return False
    new_state, reason = lifecycle.on_deadline(state)
    candidate.state = new_state.value
    target = audit.candidate_target(exam.code, candidate.ticket)
    if reason is not None:
        candidate.submitted_at = at
        candidate.submit_reason = reason.value
        await close_own_pause(session, candidate, at)
        events.append(submitted_event(candidate, exam, reason, at))
        await audit.record(session, SYSTEM, SYSTEM, "candidate.timeout", target, at=now)
    else:
        events.append(Event(Kind.CANDIDATE_ABSENT, exam.id, candidate.id))
        await audit.record(
            session, SYSTEM, SYSTEM, "candidate.absent", target, "never logged in", at=now
        )
    return True


async def end_if_done(
    session: AsyncSession, session_id: int, now: datetime, events: list[Event]
) -> bool:
    """End a started session in which nobody is registered, waiting or answering."""
    exam = await session.scalar(
        select(models.ExamSession)
        .where(models.ExamSession.id == session_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if exam is None or exam.state != SessionState.STARTED or exam.mode == PRACTICE:
        return False  # a practice stays open for whoever comes with its code next
    remaining = await session.scalar(
        select(models.Candidate.id)
        .where(
            models.Candidate.session_id == exam.id,
            models.Candidate.state.in_([s.value for s in ACTIVE]),
        )
        .limit(1)
    )
    if remaining is not None:
        return False
    exam.state = lifecycle.end_session(SessionState(exam.state)).value
    exam.ended_at = now
    open_pause = await room_pause(session, exam.id)
    if open_pause is not None:
        open_pause.ended_at = now
    await audit.record(
        session, SYSTEM, SYSTEM, "session.end", audit.session_target(exam.code), at=now
    )
    events.append(Event(Kind.SESSION_ENDED, exam.id))
    return True


class Sweeper:
    """The background task that applies deadlines and grades; owned by a cleanup context.

    A full sweep reads every running room to find who is due. It runs when a deadline
    falls due, at least every FULL_SCAN_EVERY seconds, and when a clock event may have
    moved a deadline (`wake`). Someone finishing moves no deadline (`wake_to_finish`):
    then only the light pass runs (grade the submitted, end a room nobody is left in),
    as it does at least every MAX_SLEEP seconds. A room of 2,000 submitting together
    otherwise read the whole room twice a second.
    """

    def __init__(self, runtime: Runtime, on_open: Callable[[bool], None] | None = None) -> None:
        self._rt = runtime
        self._wake = asyncio.Event()
        self._rescan = False
        self._on_open = on_open
        """Told after each pass whether any session is open for check-in or running
        (heap.HeapFreezer)."""

    def wake(self) -> None:
        """A deadline may have moved (a clock event, a proctor's command): sweep soon."""
        self._rescan = True
        self._wake.set()

    def wake_to_finish(self) -> None:
        """Someone finished (submitted, absent): grade, and end the room if it is done."""
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        scan_at = loop.time()
        while True:
            self._wake.clear()
            began = loop.time()
            rescan = self._rescan or began >= scan_at
            self._rescan = False  # a wake during this pass asks for the next
            try:
                if rescan:
                    scan_at = began + FULL_SCAN_EVERY
                    next_due = await self.sweep()
                    if next_due is not None:
                        wait = max(0.0, (next_due - self._rt.now()).total_seconds())
                        scan_at = loop.time() + min(FULL_SCAN_EVERY, wait)
                else:
                    await self.finish()
            except asyncio.CancelledError:
                raise
            except Exception:
                raise_if_cancelling()
                log.exception("deadline sweep failed; retrying shortly")
            # Not asyncio.wait_for: on Python 3.11 it drops a cancellation that lands as the
            # wake fires, and the sweeper then outlived the server's shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, min(scan_at - loop.time(), MAX_SLEEP))):
                    await self._wake.wait()
            rest = began + SWEEP_GAP - loop.time()
            if rest > 0:  # the wakes of the next moment share one pass
                await asyncio.sleep(rest)

    async def sweep(self) -> datetime | None:
        """One full pass; returns the earliest upcoming deadline (None if nothing runs)."""
        rt = self._rt
        now = rt.now()
        due: list[int] = []
        upcoming: datetime | None = None
        async with rt.read() as session:
            opened = (
                await session.scalars(
                    select(models.ExamSession).where(models.ExamSession.state.in_(OPEN))
                )
            ).all()
            started = [exam for exam in opened if exam.state == SessionState.STARTED.value]
            for exam in started:
                candidates = (
                    await session.scalars(
                        select(models.Candidate).where(
                            models.Candidate.session_id == exam.id,
                            models.Candidate.state.in_([s.value for s in ACTIVE]),
                        )
                    )
                ).all()
                facts = await session_clock_facts(session, exam, candidates, rt.policy)
                for candidate in candidates:
                    moment = clock.deadline(facts[candidate.id], now)
                    if moment is None:
                        continue
                    if moment <= now:
                        due.append(candidate.id)
                    elif upcoming is None or moment < upcoming:
                        upcoming = moment
            started_ids = [exam.id for exam in started]
        self._tell_open(bool(opened))
        # At the end of the time a whole room falls due at once: its submissions share
        # transactions (group commit), and so do their gradings.
        await asyncio.gather(*(self._expire(candidate_id, now) for candidate_id in due))
        await self._finish(started_ids)
        return upcoming

    async def finish(self) -> None:
        """The light pass: grade whoever is submitted and not graded yet, and end the
        running rooms nobody is left in."""
        async with self._rt.read() as session:
            opened = (
                await session.execute(
                    select(models.ExamSession.id, models.ExamSession.state).where(
                        models.ExamSession.state.in_(OPEN)
                    )
                )
            ).all()
        self._tell_open(bool(opened))
        await self._finish([id_ for id_, state in opened if state == SessionState.STARTED.value])

    def _tell_open(self, open_: bool) -> None:
        if self._on_open is not None:
            self._on_open(open_)

    async def _finish(self, started_ids: list[int]) -> None:
        rt = self._rt
        async with rt.read() as session:
            ungraded = list(
                await session.scalars(
                    select(models.Candidate.id).where(
                        models.Candidate.state == CandidateState.SUBMITTED.value
                    )
                )
            )
        await asyncio.gather(*(self.grade(candidate_id) for candidate_id in ungraded))
        for session_id in started_ids:
            async with rt.unit() as work:
                await end_if_done(work.session, session_id, rt.now(), work.events)

    async def _expire(self, candidate_id: int, now: datetime) -> bool:
        rt = self._rt

        async def job(session: AsyncSession, events: list[Event]) -> bool:
            return await expire(session, candidate_id, now, rt.policy, events)

        return await rt.group.run(job)

    async def grade(self, candidate_id: int) -> None:
        """Grade one submitted candidate, with the others waiting to be graded (logged,
        never raised: the next sweep grades whoever is still ungraded)."""
        try:
            await self._rt.group.run_batched(_grade_all, candidate_id, background=True)
        except Exception:
            log.exception("grading candidate %s failed; the next sweep retries", candidate_id)


async def _grade_all(
    rt: Runtime, session: AsyncSession, events: list[Event], candidate_ids: list[int]
) -> list[None]:
    """Grade the submitted among these candidates together (a room submitting together):
    one lock of them all, then `grade_many`'s fixed number of queries."""
    locked = await lock_candidates(session, candidate_ids)
    submitted = [c for c in locked.values() if c.state == CandidateState.SUBMITTED]
    await grade_many(
        session, rt.cipher, submitted, rt.now(), events, rt.papers.items, rt.papers.layouts
    )
    return [None] * len(candidate_ids)
