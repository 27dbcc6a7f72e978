"""What a candidate's connection can do: log in, answer, flag, submit; and their state.

Each function runs inside the caller's transaction (one unit of work per message, or
per group of messages that arrived together), locks the candidate row first, appends
change events to `events`, and raises domain errors. Answer, flag and submit check
everything before they write anything, so a refused message leaves no trace in the
transaction it shares with others.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server import audit
from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.errors import (
    AlreadyLoggedIn,
    DomainError,
    LoggedInElsewhere,
    LoginFailed,
    NotFound,
    StaleSeq,
    TimeUp,
    UnknownItem,
)
from cbt_server.exam import clock
from cbt_server.exam import state as lifecycle
from cbt_server.exam.answers import normalize_response
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.facts import (
    candidate_pause,
    clock_facts,
    room_pause,
    session_clock_facts_and_pauses,
)
from cbt_server.runtime.papers import (
    PaperIndex,
    PaperViews,
    ensure_papers,
    layout_index,
    paper_of,
)
from item_bank import catalogue

CANDIDATE_ROLE = "candidate"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _same_id_number(stored: str, given: str) -> bool:
    a = stored.strip().upper().encode()
    b = given.strip().upper().encode()
    return hmac.compare_digest(a, b)


def actor(candidate: models.Candidate) -> str:
    return f"candidate:{candidate.ticket}"


async def lock_candidate(session: AsyncSession, candidate_id: int) -> models.Candidate:
    """Load a candidate row for update (serialises writers on PostgreSQL)."""
    row = await session.scalar(
        select(models.Candidate)
        .where(models.Candidate.id == candidate_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(f"no candidate {candidate_id}")
    return row


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


async def _locked_with_exams(
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
    exam = await session.get(models.ExamSession, candidate.session_id, populate_existing=True)
    if exam is None:
        raise NotFound(f"no session {candidate.session_id}")
    return exam


@dataclass(frozen=True, slots=True)
class Login:
    candidate_id: int
    session_id: int
    token: str
    resumed: bool


async def login(
    session: AsyncSession,
    cipher: ContentCipher,
    *,
    ticket: str,
    id_number: str,
    resume_token: str | None,
    seat: int | None,
    conn_id: str,
    now: datetime,
    events: list[Event],
) -> Login:
    """Log a candidate in on connection `conn_id`.

    A candidate who logged in before may come back only with the resume token of that
    login (same PC), or after a proctor unlocked them (another PC): then the new login
    takes over and the old connection, wherever it is, is told to close.
    """
    found = await session.scalar(
        select(models.Candidate.id).where(models.Candidate.ticket == ticket.strip())
    )
    if found is None:
        raise LoginFailed("ticket number or ID-card number is wrong")
    candidate = await lock_candidate(session, found)
    if not _same_id_number(candidate.id_number, id_number):
        raise LoginFailed("ticket number or ID-card number is wrong")
    exam = await exam_of(session, candidate)
    current = CandidateState(candidate.state)
    new_state = lifecycle.check_in(current, SessionState(exam.state))

    resumed = False
    if candidate.login_token_hash:
        if resume_token and hmac.compare_digest(
            token_hash(resume_token), candidate.login_token_hash
        ):
            token, resumed = resume_token, True
        elif candidate.unlocked:
            token = secrets.token_urlsafe(24)
        else:
            raise AlreadyLoggedIn(
                "this candidate is logged in on another PC; a proctor must unlock "
                "them before they can log in here"
            )
    else:
        token = secrets.token_urlsafe(24)

    if new_state in (CandidateState.CHECKED_IN, CandidateState.ANSWERING, CandidateState.PAUSED):
        await ensure_papers(session, cipher, exam, [candidate])
    if current is CandidateState.REGISTERED:
        candidate.checked_in_at = now
    if new_state is CandidateState.ANSWERING and candidate.started_at is None:
        candidate.started_at = now
    candidate.state = new_state.value

    previous = candidate.connection_id
    candidate.connection_id = conn_id
    candidate.login_token_hash = token_hash(token)
    candidate.unlocked = False
    candidate.login_seat = seat
    candidate.last_seen_at = now
    if previous is not None and previous != conn_id:
        events.append(Event(Kind.CANDIDATE_TAKEOVER, exam.id, candidate.id, {"conn_id": conn_id}))
    events.append(Event(Kind.CANDIDATE_CONNECTED, exam.id, candidate.id))
    if not resumed:
        await audit.record(
            session,
            actor(candidate),
            CANDIDATE_ROLE,
            "candidate.login",
            audit.candidate_target(exam.code, candidate.ticket),
            data={"seat": seat, "state": new_state.value},
            at=now,
        )
    return Login(candidate.id, exam.id, token, resumed)


async def _writable(
    session: AsyncSession, candidate_id: int, conn_id: str
) -> tuple[models.Candidate, models.ExamSession]:
    candidate = await lock_candidate(session, candidate_id)
    if candidate.connection_id != conn_id:
        raise LoggedInElsewhere("this candidate has logged in on another PC")
    exam = await exam_of(session, candidate)
    return candidate, exam


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


@dataclass(frozen=True, slots=True)
class SetAnswer:
    seq: int
    item_id: str
    response: list[str]


@dataclass(frozen=True, slots=True)
class SetFlag:
    seq: int
    item_id: str
    flagged: bool


Change = SetAnswer | SetFlag


async def save_changes(
    session: AsyncSession,
    *,
    candidate_id: int,
    conn_id: str,
    changes: Sequence[Change],
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
    index: PaperIndex | None = None,
) -> list[DomainError | None]:
    """Apply answers and flags in `seq` order; one outcome per change.

    None means saved or already saved (a resend with a `seq` not above the candidate's
    acknowledged one changes nothing): either way the client may count it acknowledged.
    A resend is "already saved" only if the item's row holds that `seq` or a later one;
    otherwise it was refused when first sent and gets StaleSeq, never an ack for
    something not stored. A DomainError means refused (paused, time up, unknown item,
    invalid response, stale) and nothing of that change was written. Raises
    LoggedInElsewhere, for all of them, if this connection no longer holds the candidate.
    `index` is the candidate's paper index if the caller has it (papers never change).
    """
    request = SaveRequest(candidate_id, conn_id, changes, index)
    (outcome,) = await save_changes_many(session, [request], now=now, policy=policy, events=events)
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


@dataclass(frozen=True, slots=True)
class SaveRequest:
    """The answers and flags one connection sent together."""

    candidate_id: int
    conn_id: str
    changes: Sequence[Change]
    index: PaperIndex | None = None
    """The candidate's paper index if the caller has it (papers never change)."""


SaveOutcome = list[DomainError | None] | DomainError
"""One outcome per change (see `save_changes`), or why none of the request was looked at
(the connection no longer holds the candidate, no such candidate)."""


async def save_changes_many(
    session: AsyncSession,
    requests: Sequence[SaveRequest],
    *,
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
) -> list[SaveOutcome]:
    """`save_changes` for the requests of many connections, in request order, with a
    fixed number of queries whatever their number: the candidates are locked together
    (in id order), their clock facts and stored rows read together, and the changes
    flushed together. A request refused as a whole wrote nothing, as a refused change."""
    candidates, exams = await _locked_with_exams(session, [r.candidate_id for r in requests])
    holding = [
        r
        for r in requests
        if r.candidate_id in candidates and candidates[r.candidate_id].connection_id == r.conn_id
    ]
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
        candidate = candidates.get(r.candidate_id)
        if candidate is None:
            outcomes.append(NotFound(f"no candidate {r.candidate_id}"))
        elif candidate.connection_id != r.conn_id:
            outcomes.append(LoggedInElsewhere("this candidate has logged in on another PC"))
        else:
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
            kind, options = index[change.item_id]
            response = (
                normalize_response(kind, options, change.response)
                if isinstance(change, SetAnswer)
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
        if isinstance(change, SetFlag):
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


async def save_answer(
    session: AsyncSession,
    *,
    candidate_id: int,
    conn_id: str,
    seq: int,
    item_id: str,
    response: list[str],
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
) -> None:
    """Store one response (a resend of an applied `seq` changes nothing); raise if refused."""
    (outcome,) = await save_changes(
        session,
        candidate_id=candidate_id,
        conn_id=conn_id,
        changes=[SetAnswer(seq, item_id, response)],
        now=now,
        policy=policy,
        events=events,
    )
    if outcome is not None:
        raise outcome


async def save_flag(
    session: AsyncSession,
    *,
    candidate_id: int,
    conn_id: str,
    seq: int,
    item_id: str,
    flagged: bool,
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
) -> None:
    """Mark or unmark one item for review; raise if refused."""
    (outcome,) = await save_changes(
        session,
        candidate_id=candidate_id,
        conn_id=conn_id,
        changes=[SetFlag(seq, item_id, flagged)],
        now=now,
        policy=policy,
        events=events,
    )
    if outcome is not None:
        raise outcome


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


async def submit_own(
    session: AsyncSession,
    *,
    candidate_id: int,
    conn_id: str,
    seq: int,
    now: datetime,
    policy: DowntimePolicy,
    events: list[Event],
) -> bool:
    """The candidate submits their paper; False for a resend of an applied submit."""
    (outcome,) = await submit_many(
        session, [SubmitRequest(candidate_id, conn_id, seq)], now=now, policy=policy, events=events
    )
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    """One connection's `submit`."""

    candidate_id: int
    conn_id: str
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
    """`submit_own` for the submits of many connections (a room finishing together), in
    request order, with a fixed number of queries whatever their number: the candidates
    locked together, their clock facts read together, the audit entries appended
    together. Each is checked before anything of it is written."""
    candidates, exams = await _locked_with_exams(session, [r.candidate_id for r in requests])
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
        candidate = candidates.get(r.candidate_id)
        if candidate is None:
            outcomes.append(NotFound(f"no candidate {r.candidate_id}"))
            continue
        if candidate.connection_id != r.conn_id:
            outcomes.append(LoggedInElsewhere("this candidate has logged in on another PC"))
            continue
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


async def disconnect_many(
    session: AsyncSession,
    connections: Sequence[tuple[int, str]],
    now: datetime,
    events: list[Event],
) -> None:
    """Release the connection slots of these (candidate id, connection id) where that
    connection still holds the candidate; all at once (a room leaving after it submitted):
    one lock of them all, one flush."""
    candidates = await lock_candidates(session, [candidate_id for candidate_id, _ in connections])
    for candidate_id, conn_id in connections:
        candidate = candidates.get(candidate_id)
        if candidate is not None and candidate.connection_id == conn_id:
            candidate.connection_id = None
            candidate.last_seen_at = now
            events.append(Event(Kind.CANDIDATE_DISCONNECTED, candidate.session_id, candidate.id))
    await session.flush()


# --- the state a client receives ------------------------------------------------------


def session_info(exam: models.ExamSession) -> msg.SessionInfo:
    return msg.SessionInfo(
        id=exam.id,
        code=exam.code,
        title=exam.title,
        state=SessionState(exam.state),
        show_scores=exam.show_scores,
        duration_ms=exam.duration_s * 1000,
        started_at=exam.started_at,
    )


def candidate_info(candidate: models.Candidate) -> msg.CandidateInfo:
    occupation = catalogue.occupation(candidate.occupation)
    return msg.CandidateInfo(
        ticket=candidate.ticket,
        name=candidate.name,
        occupation=occupation.code,
        occupation_name=occupation.name_zh,
        level=candidate.level,
        level_name=catalogue.level_name(candidate.level),
        seat=candidate.seat,
        state=CandidateState(candidate.state),
        submit_reason=SubmitReason(candidate.submit_reason) if candidate.submit_reason else None,
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
) -> msg.State:
    """The `state` message from what was read (one candidate, or a whole room at once)."""
    return msg.State(
        server_time=now,
        session=session_info(exam),
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
    candidate = await session.get(models.Candidate, candidate_id, populate_existing=True)
    if candidate is None:
        raise NotFound(f"no candidate {candidate_id}")
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
    )
