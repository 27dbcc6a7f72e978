"""Grading a submitted candidate and storing the result (the edge around exam.grading)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.exam import state as lifecycle
from cbt_server.exam.grading import GradedItem, GradeResult, ItemKey, ItemType, ScoreMapping, grade
from cbt_server.exam.practice import PRACTICE
from cbt_server.exam.state import CandidateState
from cbt_server.item_store import ItemCache, load_items
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.papers import Layouts
from item_bank.model import Item, Paper

DEFAULT_PASS_MARK = 60.0


def item_key(item: Item) -> ItemKey:
    """What grading needs of an item: its type, key and partial-credit mapping."""
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


async def _pass_marks(session: AsyncSession, blueprint_ids: set[str]) -> dict[str, float]:
    """Each blueprint's pass mark (the default where a blueprint or its mark is missing)."""
    marks = dict.fromkeys(blueprint_ids, DEFAULT_PASS_MARK)
    for row in await session.scalars(
        select(models.Blueprint).where(models.Blueprint.id.in_(blueprint_ids))
    ):
        value = row.spec.get("pass_mark", DEFAULT_PASS_MARK)
        marks[row.id] = float(value) if isinstance(value, int | float) else DEFAULT_PASS_MARK
    return marks


async def grade_many(
    session: AsyncSession,
    cipher: ContentCipher,
    candidates: Sequence[models.Candidate],
    now: datetime,
    events: list[Event],
    items_cache: ItemCache | None = None,
    layouts: Layouts | None = None,
) -> list[models.Result | None]:
    """Grade submitted candidates and store their results (each item's response,
    correctness and score, and the option order shown), with a fixed number of queries
    whatever their number (a room submitting together); per candidate, in order, the
    result, or None if they were graded already.

    The caller holds the candidate rows (locked). Every candidate who could answer has a
    paper (login assembles one or fails), so a missing paper is an invariant broken.
    """
    ids = list(dict.fromkeys(c.id for c in candidates))
    if len(ids) != len(candidates):
        raise ValueError("a candidate is given twice")
    graded = set(
        await session.scalars(
            select(models.Result.candidate_id).where(models.Result.candidate_id.in_(ids))
        )
    )
    todo = [c for c in candidates if c.id not in graded]
    if not todo:
        return [None] * len(candidates)
    new_states = {c.id: lifecycle.grade(CandidateState(c.state)) for c in todo}
    paper_ids: dict[int, str] = {
        candidate_id: paper_id
        for candidate_id, paper_id in await session.execute(
            select(models.Paper.candidate_id, models.Paper.id).where(
                models.Paper.candidate_id.in_([c.id for c in todo])
            )
        )
    }
    if missing := [c.id for c in todo if c.id not in paper_ids]:
        raise RuntimeError(f"submitted candidates {missing} have no paper")
    by_id = await (layouts or Layouts()).load(session, list(paper_ids.values()))
    papers: dict[int, Paper] = {cid: by_id[pid] for cid, pid in paper_ids.items()}
    item_ids = list(dict.fromkeys(i for paper in papers.values() for i in paper.item_ids))
    items = await load_items(session, cipher, item_ids, items_cache)
    keys = {item_id: item_key(item) for item_id, item in items.items()}
    responses: dict[int, dict[str, list[str]]] = {c.id: {} for c in todo}
    for answer in await session.scalars(
        select(models.Answer).where(models.Answer.candidate_id.in_(list(responses)))
    ):
        responses[answer.candidate_id][answer.item_id] = list(answer.response)
    marks = await _pass_marks(session, {paper.blueprint_id for paper in papers.values()})
    exams = {
        exam.id: exam
        for exam in await session.scalars(
            select(models.ExamSession).where(
                models.ExamSession.id.in_({c.session_id for c in todo})
            )
        )
    }
    rows: dict[int, models.Result] = {}
    for candidate in todo:
        paper = papers[candidate.id]
        result: GradeResult = grade(
            graded_items(paper), keys, responses[candidate.id], marks[paper.blueprint_id]
        )
        rows[candidate.id] = row = models.Result(
            candidate_id=candidate.id,
            session_id=candidate.session_id,
            paper_id=paper_ids[candidate.id],
            score=result.total,
            max_score=result.max_total,
            pass_mark=result.pass_mark,
            passed=result.passed,
            started_at=started_at(exams[candidate.session_id], candidate),
            submitted_at=candidate.submitted_at or now,
            graded_at=now,
            submit_reason=candidate.submit_reason or "",
            responses=result.responses(),
        )
        session.add(row)
        candidate.state = new_states[candidate.id].value
    await session.flush()
    for candidate in todo:
        exam = exams[candidate.session_id]
        events.append(graded_event(candidate.session_id, candidate.id, rows[candidate.id], exam))
    return [rows.get(c.id) for c in candidates]


def started_at(exam: models.ExamSession, candidate: models.Candidate) -> datetime | None:
    """When the candidate's time started: the session's start, or in practice their own."""
    return candidate.started_at if exam.mode == PRACTICE else exam.started_at


def graded_event(
    session_id: int, candidate_id: int, row: models.Result, exam: models.ExamSession
) -> Event:
    """The event of a grading; it carries what the candidate's `result` message says (or
    that the session shows no scores), so a room graded together is told without reads."""
    data: dict[str, object] = {"shown": exam.show_scores}
    if exam.show_scores:
        data["result"] = {
            "total": row.score,
            "max_total": row.max_score,
            "pass_mark": row.pass_mark,
            "passed": row.passed,
        }
    return Event(Kind.CANDIDATE_GRADED, session_id, candidate_id, data)
