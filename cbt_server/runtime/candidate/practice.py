"""A practice candidate's requests: logging in with a practice code, checking an item
(its key, then locked) and the review after handing in. Keys leave the server only
here, and only for a practice session (`exam.practice.check_allowed`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.enrolment import practice as practice_rows
from cbt_server.errors import NotCheckable, UnknownItem
from cbt_server.exam import practice
from cbt_server.exam.grading import ItemResult, grade
from cbt_server.exam.state import CandidateState
from cbt_server.item_store import ItemCache, load_items
from cbt_server.lab import pcs as lab_pcs
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate import login as logins
from cbt_server.runtime.candidate.rows import Holding, exam_of, lock_candidate
from cbt_server.runtime.events import Event
from cbt_server.runtime.grading_service import graded_items, item_key
from cbt_server.runtime.papers import PaperViews, paper_of
from cbt_server.runtime.ws_core import LoggedIn
from item_bank.model import Paper


async def code_login(
    session: AsyncSession,
    cipher: ContentCipher,
    hello: msg.PracticeHello,
    *,
    cap: int,
    conn_id: str,
    now: datetime,
    events: list[Event],
    address: str | None = None,
) -> LoggedIn:
    """Log in with a practice code: resume the candidate whose resume token this is, or
    make a new practice candidate (at most `cap` a session) with a paper of their own,
    then log them in as a ticket login would (`login.login`)."""
    exam = await practice_rows.session_of_code(session, hello.code)
    candidate = None
    if hello.resume_token:
        token_hash = logins.token_hash(hello.resume_token)
        candidate = await practice_rows.candidate_by_token(session, exam, token_hash)
    if candidate is None:
        pc = await lab_pcs.pc_at(session, address)
        pc_seat = pc.seat if pc is not None and pc.room_id == exam.room_id else None
        candidate = await practice_rows.add_candidate(session, exam, cap, pc_seat)
    return await logins.login(
        session,
        cipher,
        ticket=candidate.ticket,
        id_number=candidate.id_number,
        resume_token=hello.resume_token,
        seat=hello.seat,
        conn_id=conn_id,
        now=now,
        events=events,
        address=address,
    )


async def _holding(session: AsyncSession, holding: Holding) -> models.Candidate:
    candidate = await lock_candidate(session, holding.candidate_id)
    refused = holding.refusal({candidate.id: candidate})
    if refused is not None:
        raise refused
    return candidate


async def _paper(session: AsyncSession, views: PaperViews, candidate_id: int) -> Paper:
    row = await paper_of(session, candidate_id)
    if row is None:  # pragma: no cover - whoever answers has a paper (login assembles it)
        raise NotCheckable("this candidate has no paper")
    return (await views.layouts.load(session, [row.id]))[row.id]


async def _marked(
    session: AsyncSession,
    cipher: ContentCipher,
    paper: Paper,
    responses: dict[str, list[str]],
    only: str | None,
    cache: ItemCache | None,
) -> list[msg.ItemCheck]:
    """The paper's items (or the one item `only`) against their keys, in paper order."""
    graded = [g for g in graded_items(paper) if only is None or g.item_id == only]
    items = await load_items(session, cipher, [g.item_id for g in graded], cache)
    keys = {item_id: item_key(item) for item_id, item in items.items()}
    result = grade(graded, keys, responses, pass_mark=0.0)
    return [_check_of(row, sorted(keys[row.item_id].key)) for row in result.items]


def _check_of(row: ItemResult, key: list[str]) -> msg.ItemCheck:
    return msg.ItemCheck(
        item_id=row.item_id,
        correct=row.correct,
        outcome=row.outcome.value,
        response=practice.shown_key(row.response, row.option_order),
        key=practice.shown_key(key, row.option_order),
    )


async def check_item(
    session: AsyncSession,
    cipher: ContentCipher,
    views: PaperViews,
    holding: Holding,
    item_id: str,
    now: datetime,
) -> msg.Checked:
    """`check`: this item's stored answer against its key; the item is locked from now
    (`changes` refuses a new answer to it). Checking it again tells the same."""
    candidate = await _holding(session, holding)
    exam = await exam_of(session, candidate)
    practice.check_allowed(exam.mode, exam.feedback, CandidateState(candidate.state))
    paper = await _paper(session, views, candidate.id)
    if item_id not in paper.item_ids:
        raise UnknownItem(f"item {item_id!r} is not on this candidate's paper")
    answer = await session.scalar(
        select(models.Answer).where(
            models.Answer.candidate_id == candidate.id, models.Answer.item_id == item_id
        )
    )
    if answer is None or not answer.response:
        raise NotCheckable("先作答再核对 (answer the item before checking it)")
    if answer.checked_at is None:
        answer.checked_at = now
    marked = await _marked(
        session, cipher, paper, {item_id: list(answer.response)}, item_id, views.items
    )
    return msg.Checked(**marked[0].model_dump())


async def review(
    session: AsyncSession,
    cipher: ContentCipher,
    views: PaperViews,
    holding: Holding,
) -> msg.Reviewed:
    """`review`: once handed in, every item of the paper against its key, with the
    paper itself (the `state` carries no paper after hand-in)."""
    candidate = await _holding(session, holding)
    exam = await exam_of(session, candidate)
    state = CandidateState(candidate.state)
    practice.check_allowed(exam.mode, exam.feedback, state, review=True)
    paper = await _paper(session, views, candidate.id)
    responses = {
        row.item_id: list(row.response)
        for row in await session.scalars(
            select(models.Answer).where(models.Answer.candidate_id == candidate.id)
        )
    }
    items = await _marked(session, cipher, paper, responses, None, views.items)
    return msg.Reviewed(items=items, paper=await views.of_candidate(session, candidate.id))
