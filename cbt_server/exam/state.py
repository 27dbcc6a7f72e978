"""Session and candidate life-cycles as pure transition functions.

Each function takes the current state (and whatever else the rule depends on) and returns
the next state, or raises a domain error naming what is not allowed. Storing the result,
recording the time and telling clients is the runtime's job.

Session:   scheduled -> checkin -> started -> ended
Candidate: registered -> checked_in -> answering <-> paused -> submitted -> graded
           registered | checked_in -> absent (marked by a proctor, or never logged in
           before the deadline)

A candidate who logs in after the session started goes straight to answering; their
time counts from the session start like everyone else's (a proctor may grant extra time).
Whole-room pauses are a session fact, not a candidate state: a candidate is held when
their own state is `paused` or the room is paused (see `can_answer`).
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import TypeVar

from cbt_server.errors import (
    AlreadySubmitted,
    InvalidTransition,
    NotStarted,
    Paused,
    StillAnswering,
    TimeUp,
)


class SessionState(StrEnum):
    SCHEDULED = "scheduled"
    CHECKIN = "checkin"  # open for check-in: candidates log in and read the instructions
    STARTED = "started"
    ENDED = "ended"


class CandidateState(StrEnum):
    REGISTERED = "registered"
    CHECKED_IN = "checked_in"  # logged in, waiting for the start
    ANSWERING = "answering"
    PAUSED = "paused"  # paused by a proctor, this candidate only
    SUBMITTED = "submitted"
    GRADED = "graded"
    ABSENT = "absent"


class SubmitReason(StrEnum):
    CANDIDATE = "candidate"
    PROCTOR = "proctor"
    TIMEOUT = "timeout"


FINISHED = frozenset({CandidateState.SUBMITTED, CandidateState.GRADED, CandidateState.ABSENT})
IN_EXAM = frozenset({CandidateState.ANSWERING, CandidateState.PAUSED})
BEFORE_EXAM = frozenset({CandidateState.REGISTERED, CandidateState.CHECKED_IN})
HANDED_IN = frozenset({CandidateState.SUBMITTED, CandidateState.GRADED})


def _refuse(what: str, state: StrEnum) -> InvalidTransition:
    return InvalidTransition(f"cannot {what} in state {state.value!r}")


_State = TypeVar("_State", SessionState, CandidateState)


def _move(state: _State, allowed: Collection[_State], to: _State, what: str) -> _State:
    """The one-step rule: from any state in `allowed` to `to`, else refuse `what`."""
    if state not in allowed:
        raise _refuse(what, state)
    return to


# --- session --------------------------------------------------------------------------


def open_checkin(session: SessionState) -> SessionState:
    return _move(session, {SessionState.SCHEDULED}, SessionState.CHECKIN, "open check-in")


def start_session(session: SessionState) -> SessionState:
    """A proctor starts the session; opening check-in first is implied if not done."""
    before = {SessionState.SCHEDULED, SessionState.CHECKIN}
    return _move(session, before, SessionState.STARTED, "start the session")


def end_session(session: SessionState) -> SessionState:
    return _move(session, {SessionState.STARTED}, SessionState.ENDED, "end the session")


def session_accepts_login(session: SessionState) -> bool:
    return session in (SessionState.CHECKIN, SessionState.STARTED)


# --- candidate ------------------------------------------------------------------------


def check_in(candidate: CandidateState, session: SessionState) -> CandidateState:
    """A candidate logs in. Returns their state after login (unchanged on a re-login)."""
    if candidate is CandidateState.ABSENT:
        raise _refuse("log in", candidate)
    if not session_accepts_login(session) and candidate not in FINISHED:
        if session is SessionState.SCHEDULED:
            raise NotStarted("the session is not open for check-in yet")
        raise _refuse("log in to a session", session)
    if candidate is CandidateState.REGISTERED:
        if session is SessionState.STARTED:
            return CandidateState.ANSWERING
        return CandidateState.CHECKED_IN
    # Re-login after a reconnect or a seat change keeps the state (including finished
    # ones, so a submitted candidate can still see their confirmation).
    return candidate


def on_session_start(candidate: CandidateState) -> CandidateState:
    """What the session start does to one candidate: the checked-in begin answering."""
    if candidate is CandidateState.CHECKED_IN:
        return CandidateState.ANSWERING
    return candidate


def pause(candidate: CandidateState) -> CandidateState:
    return _move(candidate, {CandidateState.ANSWERING}, CandidateState.PAUSED, "pause")


def resume(candidate: CandidateState) -> CandidateState:
    return _move(candidate, {CandidateState.PAUSED}, CandidateState.ANSWERING, "resume")


def submit(
    candidate: CandidateState, reason: SubmitReason, *, room_paused: bool = False
) -> CandidateState:
    """Submission by the candidate, a proctor (force) or the server (time out)."""
    if candidate in HANDED_IN:
        raise AlreadySubmitted("the paper has already been submitted")
    if candidate not in IN_EXAM:
        raise _refuse(f"submit ({reason.value})", candidate)
    if reason is SubmitReason.CANDIDATE and (candidate is CandidateState.PAUSED or room_paused):
        raise Paused("the exam is paused; submit after it resumes")
    if reason is SubmitReason.TIMEOUT and (candidate is CandidateState.PAUSED or room_paused):
        # A paused clock cannot run out; a timeout here means the caller's clock is wrong.
        raise _refuse("time out while paused", candidate)
    return CandidateState.SUBMITTED


def grade(candidate: CandidateState) -> CandidateState:
    return _move(candidate, {CandidateState.SUBMITTED}, CandidateState.GRADED, "grade")


def mark_absent(candidate: CandidateState) -> CandidateState:
    return _move(candidate, BEFORE_EXAM, CandidateState.ABSENT, "mark absent")


def on_deadline(candidate: CandidateState) -> tuple[CandidateState, SubmitReason | None]:
    """What the deadline does: those in the exam are submitted, those never seen are absent.

    Returns the new state and the submit reason (None when nothing is submitted).
    """
    if candidate in IN_EXAM:
        return CandidateState.SUBMITTED, SubmitReason.TIMEOUT
    if candidate in BEFORE_EXAM:
        return CandidateState.ABSENT, None
    return candidate, None


def on_end(
    candidate: CandidateState, *, expired: bool
) -> tuple[CandidateState, SubmitReason | None]:
    """What a proctor's 结束考试 does to one candidate: those never in the exam become
    absent, those whose time is over are submitted; anyone still answering with time left
    forbids the end (raises `StillAnswering`). Returns the new state and the submit reason.
    """
    if candidate in BEFORE_EXAM:
        return CandidateState.ABSENT, None
    if candidate in IN_EXAM:
        if not expired:
            raise StillAnswering(f"a candidate is still {candidate.value} with time left")
        return CandidateState.SUBMITTED, SubmitReason.TIMEOUT
    return candidate, None


def can_answer(
    candidate: CandidateState,
    session: SessionState,
    *,
    room_paused: bool,
    expired: bool,
) -> None:
    """Raise the reason a candidate may not change answers or flags now, if any."""
    if candidate in HANDED_IN:
        raise AlreadySubmitted("the paper has already been submitted")
    if session in (SessionState.SCHEDULED, SessionState.CHECKIN) or candidate in BEFORE_EXAM:
        raise NotStarted("the exam has not started")
    if candidate is not CandidateState.ANSWERING and candidate is not CandidateState.PAUSED:
        raise _refuse("answer", candidate)
    if session is SessionState.ENDED:
        raise TimeUp("the session has ended")
    if candidate is CandidateState.PAUSED or room_paused:
        raise Paused("the exam is paused")
    if expired:
        raise TimeUp("time is up")
