"""Session and candidate life-cycle transitions."""

from __future__ import annotations

import pytest

from cbt_server.errors import (
    AlreadySubmitted,
    DomainError,
    InvalidTransition,
    NotStarted,
    Paused,
    TimeUp,
)
from cbt_server.exam import state as st
from cbt_server.exam.state import CandidateState as C
from cbt_server.exam.state import SessionState as S
from cbt_server.exam.state import SubmitReason as R


def test_session_happy_path() -> None:
    s = st.open_checkin(S.SCHEDULED)
    assert s is S.CHECKIN
    s = st.start_session(s)
    assert s is S.STARTED
    assert st.end_session(s) is S.ENDED


def test_start_from_scheduled_implies_checkin() -> None:
    assert st.start_session(S.SCHEDULED) is S.STARTED


@pytest.mark.parametrize(
    ("step", "state"),
    [
        (st.open_checkin, S.CHECKIN),
        (st.open_checkin, S.STARTED),
        (st.start_session, S.STARTED),
        (st.start_session, S.ENDED),
        (st.end_session, S.SCHEDULED),
        (st.end_session, S.ENDED),
    ],
)
def test_session_refusals(step: object, state: S) -> None:
    with pytest.raises(InvalidTransition) as info:
        step(state)  # type: ignore[operator]
    assert info.value.code == "invalid_transition"
    assert state.value in info.value.message


def test_check_in_before_and_after_start() -> None:
    assert st.check_in(C.REGISTERED, S.CHECKIN) is C.CHECKED_IN
    # Late arrival: straight to answering, time counts from the session start.
    assert st.check_in(C.REGISTERED, S.STARTED) is C.ANSWERING
    # Re-login keeps the state.
    assert st.check_in(C.ANSWERING, S.STARTED) is C.ANSWERING
    assert st.check_in(C.PAUSED, S.STARTED) is C.PAUSED
    assert st.check_in(C.SUBMITTED, S.ENDED) is C.SUBMITTED


def test_check_in_refusals() -> None:
    with pytest.raises(NotStarted):
        st.check_in(C.REGISTERED, S.SCHEDULED)
    with pytest.raises(InvalidTransition):
        st.check_in(C.REGISTERED, S.ENDED)
    with pytest.raises(InvalidTransition):
        st.check_in(C.ABSENT, S.STARTED)


def test_session_start_moves_only_the_checked_in() -> None:
    assert st.on_session_start(C.CHECKED_IN) is C.ANSWERING
    assert st.on_session_start(C.REGISTERED) is C.REGISTERED
    assert st.on_session_start(C.ABSENT) is C.ABSENT


def test_pause_resume() -> None:
    assert st.pause(C.ANSWERING) is C.PAUSED
    assert st.resume(C.PAUSED) is C.ANSWERING
    with pytest.raises(InvalidTransition):
        st.pause(C.PAUSED)
    with pytest.raises(InvalidTransition):
        st.resume(C.ANSWERING)
    with pytest.raises(InvalidTransition):
        st.pause(C.SUBMITTED)


@pytest.mark.parametrize("reason", list(R))
def test_submit_from_answering(reason: R) -> None:
    assert st.submit(C.ANSWERING, reason) is C.SUBMITTED


def test_submit_rules_while_paused() -> None:
    with pytest.raises(Paused):
        st.submit(C.PAUSED, R.CANDIDATE)
    with pytest.raises(Paused):
        st.submit(C.ANSWERING, R.CANDIDATE, room_paused=True)
    assert st.submit(C.PAUSED, R.PROCTOR) is C.SUBMITTED
    assert st.submit(C.ANSWERING, R.PROCTOR, room_paused=True) is C.SUBMITTED
    with pytest.raises(InvalidTransition):
        st.submit(C.PAUSED, R.TIMEOUT)


def test_submit_twice_and_before_start() -> None:
    with pytest.raises(AlreadySubmitted):
        st.submit(C.SUBMITTED, R.CANDIDATE)
    with pytest.raises(AlreadySubmitted):
        st.submit(C.GRADED, R.TIMEOUT)
    with pytest.raises(InvalidTransition):
        st.submit(C.CHECKED_IN, R.PROCTOR)


def test_grade_and_absent() -> None:
    assert st.grade(C.SUBMITTED) is C.GRADED
    with pytest.raises(InvalidTransition):
        st.grade(C.ANSWERING)
    assert st.mark_absent(C.REGISTERED) is C.ABSENT
    assert st.mark_absent(C.CHECKED_IN) is C.ABSENT
    with pytest.raises(InvalidTransition):
        st.mark_absent(C.ANSWERING)


def test_deadline() -> None:
    assert st.on_deadline(C.ANSWERING) == (C.SUBMITTED, R.TIMEOUT)
    assert st.on_deadline(C.REGISTERED) == (C.ABSENT, None)
    assert st.on_deadline(C.CHECKED_IN) == (C.ABSENT, None)
    assert st.on_deadline(C.GRADED) == (C.GRADED, None)


def test_can_answer() -> None:
    st.can_answer(C.ANSWERING, S.STARTED, room_paused=False, expired=False)
    cases: list[tuple[C, S, bool, bool, type[DomainError]]] = [
        (C.SUBMITTED, S.STARTED, False, False, AlreadySubmitted),
        (C.CHECKED_IN, S.CHECKIN, False, False, NotStarted),
        (C.ANSWERING, S.CHECKIN, False, False, NotStarted),
        (C.PAUSED, S.STARTED, False, False, Paused),
        (C.ANSWERING, S.STARTED, True, False, Paused),
        (C.ANSWERING, S.STARTED, False, True, TimeUp),
        (C.ANSWERING, S.ENDED, False, False, TimeUp),
        (C.ABSENT, S.STARTED, False, False, InvalidTransition),
    ]
    for cand, sess, room_paused, expired, error in cases:
        with pytest.raises(error):
            st.can_answer(cand, sess, room_paused=room_paused, expired=expired)


def test_state_values_match_the_stored_strings() -> None:
    assert [s.value for s in S] == ["scheduled", "checkin", "started", "ended"]
    assert C("registered") is C.REGISTERED
    assert {r.value for r in R} == {"candidate", "proctor", "timeout"}
