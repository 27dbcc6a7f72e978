"""Reading and locking the rows a candidate's requests work on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.errors import DomainError, LoggedInElsewhere, NotFound

CANDIDATE_ROLE = "candidate"

Row = TypeVar("Row", bound=models.Base)


@dataclass(frozen=True, slots=True)
class Holding:
    """A request of connection `conn_id`, which must still hold candidate `candidate_id`
    (the connection of their latest login) for any of it to be looked at."""

    candidate_id: int
    conn_id: str

    def holds(self, candidates: Mapping[int, models.Candidate]) -> bool:
        candidate = candidates.get(self.candidate_id)
        return candidate is not None and candidate.connection_id == self.conn_id

    def refusal(self, candidates: Mapping[int, models.Candidate]) -> DomainError | None:
        """Why none of the request is looked at (no such candidate, or they logged in
        elsewhere since), or None."""
        candidate = candidates.get(self.candidate_id)
        if candidate is None:
            return NotFound(f"no candidate {self.candidate_id}")
        if candidate.connection_id != self.conn_id:
            return LoggedInElsewhere("this candidate has logged in on another PC")
        return None


def actor(candidate: models.Candidate) -> str:
    return f"candidate:{candidate.ticket}"


async def get_row(
    session: AsyncSession, model: type[Row], row_id: int, what: str, *, lock: bool = False
) -> Row:
    """The row of `model` with this id as stored now, locked for update if `lock` (which
    serialises writers on PostgreSQL); NotFound("no {what} {id}") if there is none."""
    row = await session.get(model, row_id, populate_existing=True, with_for_update=lock or None)
    if row is None:
        raise NotFound(f"no {what} {row_id}")
    return row


async def lock_candidate(session: AsyncSession, candidate_id: int) -> models.Candidate:
    """Load a candidate row for update (serialises writers on PostgreSQL)."""
    return await get_row(session, models.Candidate, candidate_id, "candidate", lock=True)


async def lock_candidates(
    session: AsyncSession, candidate_ids: Sequence[int]
) -> dict[int, models.Candidate]:
    """Load many candidate rows for update, in id order (so that two writers locking
    overlapping sets cannot deadlock); ids with no row are left out."""
    rows = await session.scalars(
        select(models.Candidate)
        .where(models.Candidate.id.in_(sorted(set(candidate_ids))))
        .order_by(models.Candidate.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.id: row for row in rows}


async def locked_with_exams(
    session: AsyncSession, candidate_ids: Sequence[int]
) -> tuple[dict[int, models.Candidate], dict[int, models.ExamSession]]:
    """Lock many candidates (`lock_candidates`) and read their sessions, by id."""
    candidates = await lock_candidates(session, candidate_ids)
    exams = {
        e.id: e
        for e in await session.scalars(
            select(models.ExamSession)
            .where(models.ExamSession.id.in_({c.session_id for c in candidates.values()}))
            .execution_options(populate_existing=True)
        )
    }
    return candidates, exams


async def exam_of(session: AsyncSession, candidate: models.Candidate) -> models.ExamSession:
    return await get_row(session, models.ExamSession, candidate.session_id, "session")
