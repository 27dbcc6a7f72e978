"""The start of a room: one read for the state of every candidate this process carries.

When the proctor starts a session, every connected candidate needs their full state (the
paper, the clock) at once. Read one candidate at a time, that was eight queries per
candidate and the largest cost of the start: a room of 1,000 took 11.7 s to receive its
papers with the server's one core busy in the ORM. Here the first connection to handle
the start reads the states of all the session's candidates connected to this process
with a fixed number of queries, and every other connection takes its own from that read.

The clock is not frozen at the read: each connection computes `remaining_ms` and
`server_time` from the candidate's clock facts at the moment it sends, so a candidate
served last gets the same deadline as one served first. Only the start is shared this
way: before it nobody can have answered, so the answers in the read cannot be stale.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.exam import clock
from cbt_server.exam import state as lifecycle
from cbt_server.exam.clock import ClockFacts, DowntimePolicy
from cbt_server.exam.state import CandidateState, SessionState
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate.views import (
    pause_scope,
    result_view_of,
    state_message,
    summary_of,
)
from cbt_server.runtime.context import Runtime
from cbt_server.runtime.events import Event
from cbt_server.runtime.facts import room_pause, session_clock_facts
from cbt_server.runtime.papers import PaperViews

log = logging.getLogger(__name__)

CHUNK = 500
"""Candidates per IN (...) list: well inside every database's parameter limit."""


@dataclass(frozen=True, slots=True)
class PreparedState:
    """A candidate's state as read, and the clock facts to bring it up to date."""

    state: msg.State
    facts: ClockFacts

    def at(self, now: datetime, token: str | None) -> msg.State:
        """The state to send at `now`, carrying this connection's resume token."""
        return self.state.model_copy(
            update={
                "server_time": now,
                "remaining_ms": clock.remaining_ms(self.facts, now),
                "resume_token": token,
            }
        )


async def read_room_states(
    session: AsyncSession,
    views: PaperViews,
    session_id: int,
    candidate_ids: Sequence[int],
    now: datetime,
    policy: DowntimePolicy,
) -> dict[int, PreparedState]:
    """The states of these candidates of one session (others' ids are ignored)."""
    exam = await session.get(models.ExamSession, session_id, populate_existing=True)
    if exam is None:
        return {}
    prepared: dict[int, PreparedState] = {}
    ids = sorted(set(candidate_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        prepared.update(await _read_chunk(session, views, exam, chunk, now, policy))
    return prepared


async def _read_chunk(
    session: AsyncSession,
    views: PaperViews,
    exam: models.ExamSession,
    ids: list[int],
    now: datetime,
    policy: DowntimePolicy,
) -> dict[int, PreparedState]:
    candidates = list(
        await session.scalars(
            select(models.Candidate)
            .where(models.Candidate.session_id == exam.id, models.Candidate.id.in_(ids))
            .execution_options(populate_existing=True)
        )
    )
    ids = [c.id for c in candidates]
    facts = await session_clock_facts(session, exam, candidates, policy)
    room_paused = await room_pause(session, exam.id) is not None
    own_paused = set(
        await session.scalars(
            select(models.Pause.candidate_id).where(
                models.Pause.candidate_id.in_(ids), models.Pause.ended_at.is_(None)
            )
        )
    )
    answers: dict[int, list[models.Answer]] = defaultdict(list)
    for answer in await session.scalars(
        select(models.Answer).where(models.Answer.candidate_id.in_(ids))
    ):
        answers[answer.candidate_id].append(answer)
    results: dict[int, msg.ResultView] = {}
    if exam.show_scores:
        for row in await session.scalars(
            select(models.Result).where(models.Result.candidate_id.in_(ids))
        ):
            results[row.candidate_id] = result_view_of(row)
    papers: dict[int, str] = {
        candidate_id: paper_id
        for candidate_id, paper_id in await session.execute(
            select(models.Paper.candidate_id, models.Paper.id).where(
                models.Paper.candidate_id.in_(ids)
            )
        )
    }
    started = SessionState(exam.state) is SessionState.STARTED
    summary = await summary_of(session, exam)
    prepared = {}
    for candidate in candidates:
        state = CandidateState(candidate.state)
        paper = None
        paper_id = papers.get(candidate.id)
        if started and state in lifecycle.IN_EXAM and paper_id is not None:
            paper = await views.by_id(session, paper_id)
        scope = None
        if state not in lifecycle.FINISHED:
            scope = pause_scope(room_paused=room_paused, own_paused=candidate.id in own_paused)
        candidate_facts = facts[candidate.id]
        prepared[candidate.id] = PreparedState(
            state=state_message(
                exam,
                candidate,
                paper=paper,
                answers=answers.get(candidate.id, []),
                remaining_ms=clock.remaining_ms(candidate_facts, now),
                scope=scope,
                result=results.get(candidate.id),
                now=now,
                token=None,
                summary=summary,
            ),
            facts=candidate_facts,
        )
    return prepared


class RoomStates:
    """Shares one `read_room_states` among the connections handling the same event."""

    def __init__(self, runtime: Runtime, candidate_ids: Callable[[int], list[int]]) -> None:
        self._rt = runtime
        self._candidate_ids = candidate_ids
        self._last: tuple[Event, asyncio.Task[dict[int, PreparedState]]] | None = None

    async def state_for(
        self, event: Event, candidate_id: int, token: str | None
    ) -> msg.State | None:
        """This candidate's state after `event`; None if the shared read does not cover
        them (they connected after it, or a newer room-wide event replaced it): the
        caller then reads their state alone."""
        if self._last is None or self._last[0] is not event:
            self._last = (event, asyncio.create_task(self._read(event), name="cbt-room-states"))
        task = self._last[1]
        try:
            prepared = (await asyncio.shield(task)).get(candidate_id)
        except Exception:  # the shared read failed: each connection reads its own
            log.warning("reading the room's states at once failed", exc_info=True)
            return None
        return None if prepared is None else prepared.at(self._rt.now(), token)

    async def _read(self, event: Event) -> dict[int, PreparedState]:
        rt = self._rt
        async with rt.read() as session:
            return await read_room_states(
                session, rt.papers, event.session_id, self._candidate_ids(event.session_id),
                rt.now(), rt.policy,
            )  # fmt: skip
