"""Grading a submitted candidate and storing the result (the edge around exam.grading)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.exam import state as lifecycle
from cbt_server.exam.grading import GradedItem, GradeResult, ItemKey, ItemType, ScoreMapping, grade
from cbt_server.exam.state import CandidateState
from cbt_server.item_store import ItemCache, load_items
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.papers import paper_of
from item_bank.model import Item, Paper

DEFAULT_PASS_MARK = 60.0


def _key(item: Item) -> ItemKey:
    mapping = None
    if item.mapping is not None:
        mapping = ScoreMapping(
            entries=dict(item.mapping.entries),
            default=item.mapping.default,
            lower_bound=item.mapping.lower_bound,
            upper_bound=item.mapping.upper_bound,
        )
    return ItemKey(
        item_id=item.id, type=ItemType(item.type), key=frozenset(item.key), mapping=mapping
    )


def graded_items(paper: Paper) -> list[GradedItem]:
    return [
        GradedItem(
            item_id=entry.item_id,
            type=ItemType(section.type),
            score=section.score_each,
            option_order=entry.option_order,
        )
        for section in paper.sections
        for entry in section.items
    ]


async def pass_mark(session: AsyncSession, blueprint_id: str) -> float:
    row = await session.get(models.Blueprint, blueprint_id)
    if row is None:
        return DEFAULT_PASS_MARK
    value = row.spec.get("pass_mark", DEFAULT_PASS_MARK)
    return float(value) if isinstance(value, int | float) else DEFAULT_PASS_MARK


async def grade_candidate(
    session: AsyncSession,
    cipher: ContentCipher,
    candidate: models.Candidate,
    now: datetime,
    events: list[Event],
    items_cache: ItemCache | None = None,
) -> models.Result | None:
    """Grade a submitted candidate and store the result (with each item's response,
    correctness and score, and the option order shown); None if already graded.

    The caller holds the candidate row (locked). Every candidate who could answer has a
    paper (login assembles one or fails), so a missing paper is an invariant broken.
    """
    existing = await session.scalar(
        select(models.Result).where(models.Result.candidate_id == candidate.id)
    )
    if existing is not None:
        return None
    new_state = lifecycle.grade(CandidateState(candidate.state))
    paper_row = await paper_of(session, candidate.id)
    if paper_row is None:
        raise RuntimeError(f"submitted candidate {candidate.id} has no paper")
    paper = Paper.from_dict(paper_row.layout)
    items = await load_items(session, cipher, list(paper.item_ids), items_cache)
    answers = await session.scalars(
        select(models.Answer).where(models.Answer.candidate_id == candidate.id)
    )
    responses = {a.item_id: list(a.response) for a in answers}
    result: GradeResult = grade(
        graded_items(paper),
        {item_id: _key(item) for item_id, item in items.items()},
        responses,
        await pass_mark(session, paper.blueprint_id),
    )
    exam = await session.get(models.ExamSession, candidate.session_id)
    assert exam is not None
    row = models.Result(
        candidate_id=candidate.id,
        session_id=candidate.session_id,
        paper_id=paper_row.id,
        score=result.total,
        max_score=result.max_total,
        pass_mark=result.pass_mark,
        passed=result.passed,
        started_at=exam.started_at,
        submitted_at=candidate.submitted_at or now,
        graded_at=now,
        submit_reason=candidate.submit_reason or "",
        responses=result.responses(),
    )
    session.add(row)
    candidate.state = new_state.value
    await session.flush()
    events.append(Event(Kind.CANDIDATE_GRADED, candidate.session_id, candidate.id))
    return row
