"""A candidate's answers and flags: checked, then stored, many connections' at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.errors import DomainError, ItemLocked, StaleSeq, UnknownItem
from cbt_server.exam import clock
from cbt_server.exam import state as lifecycle
from cbt_server.exam.answers import normalize_response
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SessionState
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate.rows import Holding, locked_with_exams
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.facts import session_clock_facts_and_pauses
from cbt_server.runtime.papers import PaperIndex, layout_index, paper_of


def _answer_refusal(
    candidate: models.Candidate,
    exam: models.ExamSession,
    facts: clock.ClockFacts,
    room_paused: bool,
    now: datetime,
) -> DomainError | None:
    """Why the candidate may not change answers now (paused, time up, ...), or None."""
    try:
        lifecycle.can_answer(
            CandidateState(candidate.state),
            SessionState(exam.state),
            room_paused=room_paused,
            expired=clock.is_expired(facts, now),
        )
    except DomainError as error:
        return error
    return None


async def paper_index(session: AsyncSession, candidate_id: int) -> PaperIndex:
    """item id -> (type, option ids) of the candidate's paper (empty if none yet)."""
    paper = await paper_of(session, candidate_id)
    return layout_index(paper.layout) if paper is not None else {}


Change = msg.Answer | msg.Flag
"""An answer or a flag, as the candidate's client sent it."""


@dataclass(frozen=True, slots=True)
class SaveRequest(Holding):
    """The answers and flags one connection sent together."""

    changes: Sequence[Change]
    index: PaperIndex | None = None
    """The candidate's paper index if the caller has it (papers never change)."""


SaveOutcome = list[DomainError | None] | DomainError
"""One outcome per change, or why none of the request was looked at (the connection no
longer holds the candidate, no such candidate).

None means saved or already saved (a resend with a `seq` not above the candidate's
acknowledged one changes nothing): either way the client may count it acknowledged.
A resend is "already saved" only if the item's row holds that `seq` or a later one;
otherwise it was refused when first sent and gets StaleSeq, never an ack for something
not stored. A DomainError means refused (paused, time up, unknown item, invalid
response, stale) and nothing of that change was written."""


async def save_changes_many(
    session: AsyncSession,
    requests: Sequence[SaveRequest],
    *,
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
) -> list[SaveOutcome]:
    """Apply the answers and flags of many connections, each request's in `seq` order
    (one `SaveOutcome` a request, in request order), with a fixed number of queries
    whatever their number: the candidates are locked together (in id order), their
    clock facts and stored rows read together, and the changes flushed together. A
    request refused as a whole wrote nothing, as a refused change."""
    candidates, exams = await locked_with_exams(session, [r.candidate_id for r in requests])
    holding = [r for r in requests if r.holds(candidates)]
    # Why each candidate with a change above their mark may not answer now, if so.
    checked = {
        r.candidate_id
        for r in holding
        if any(c.seq > candidates[r.candidate_id].acked_seq for c in r.changes)
    }
    refusals: dict[int, DomainError | None] = {}
    for exam in exams.values():
        of_exam = [candidates[i] for i in sorted(checked) if candidates[i].session_id == exam.id]
        if not of_exam:
            continue
        facts, pauses = await session_clock_facts_and_pauses(session, exam, of_exam, policy)
        room_paused = any(p.candidate_id is None and p.ended_at is None for p in pauses)
        for checking in of_exam:
            refusals[checking.id] = _answer_refusal(
                checking, exam, facts[checking.id], room_paused, now
            )
    indexes: dict[int, PaperIndex] = {}
    for r in holding:
        if r.candidate_id not in indexes:
            indexes[r.candidate_id] = r.index or await paper_index(session, r.candidate_id)
    # Rows of the items changed now, and of those resent below the mark (to tell a resend
    # of a stored change from one of a refused change).
    wanted = {
        (r.candidate_id, c.item_id)
        for r in holding
        for c in r.changes
        if c.item_id in indexes[r.candidate_id]
        and (c.seq <= candidates[r.candidate_id].acked_seq or refusals.get(r.candidate_id) is None)
    }
    rows: dict[tuple[int, str], models.Answer] = {}
    if wanted:
        found = await session.scalars(
            select(models.Answer).where(
                models.Answer.candidate_id.in_({cid for cid, _ in wanted}),
                models.Answer.item_id.in_({item for _, item in wanted}),
            )
        )
        rows = {(row.candidate_id, row.item_id): row for row in found}
    outcomes: list[SaveOutcome] = []
    for r in requests:
        refused = r.refusal(candidates)
        if refused is not None:
            outcomes.append(refused)
        else:
            candidate = candidates[r.candidate_id]
            outcomes.append(
                _apply_changes(
                    session,
                    candidate,
                    exams[candidate.session_id],
                    r.changes,
                    indexes[candidate.id],
                    refusals.get(candidate.id),
                    rows,
                    now,
                    events,
                )
            )
    return outcomes


def _apply_changes(
    session: AsyncSession,
    candidate: models.Candidate,
    exam: models.ExamSession,
    changes: Sequence[Change],
    index: PaperIndex,
    refusal: DomainError | None,
    rows: dict[tuple[int, str], models.Answer],
    now: datetime,
    events: list[Event],
) -> list[DomainError | None]:
    """One request's changes on its locked candidate, checked before each is written."""
    outcomes: list[DomainError | None] = []
    changed = False
    for change in changes:
        key = (candidate.id, change.item_id)
        if change.seq <= candidate.acked_seq:
            outcomes.append(_resend_outcome(change, rows.get(key), candidate))
            continue
        try:
            if refusal is not None:
                raise refusal
            if change.item_id not in index:
                raise UnknownItem(f"item {change.item_id!r} is not on this candidate's paper")
            if isinstance(change, msg.Answer) and _checked(rows.get(key)):
                raise ItemLocked(f"item {change.item_id!r} was checked: its answer is final")
            kind, options = index[change.item_id]
            response = (
                normalize_response(kind, options, change.response)
                if isinstance(change, msg.Answer)
                else None
            )
        except DomainError as error:
            outcomes.append(error)
            continue
        row = rows.get(key)
        if row is None:
            row = models.Answer(
                candidate_id=candidate.id, item_id=change.item_id, response=[], flagged=False
            )
            session.add(row)
            rows[key] = row
        if response is not None:
            row.response = response
        if isinstance(change, msg.Flag):
            row.flagged = change.flagged
        row.seq = change.seq
        row.updated_at = now
        candidate.acked_seq = change.seq
        changed = True
        outcomes.append(None)
    if changed:
        candidate.last_seen_at = now
        events.append(Event(Kind.CANDIDATE_ANSWERED, exam.id, candidate.id))
    return outcomes


def _checked(row: models.Answer | None) -> bool:
    """Practice with item feedback: the item's key was shown, its answer is final."""
    return row is not None and row.checked_at is not None


def _resend_outcome(
    change: Change, row: models.Answer | None, candidate: models.Candidate
) -> DomainError | None:
    """A change whose `seq` is at or below the mark: stored already, or refused back then."""
    if row is not None and row.seq >= change.seq:
        return None  # this change, or a later one to the same item, is stored
    return StaleSeq(
        f"seq {change.seq} was never applied and is not above the last acknowledged "
        f"({candidate.acked_seq}); send the change again under a new number"
    )
