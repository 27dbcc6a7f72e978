"""The candidate protocol without sockets or a database: frames and events in, the
messages and effects a connection carries out, out (`candidate_protocol`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cbt_server.errors import LoginFailed, Paused, RateLimited, StaleSeq, TimeUp
from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.protocol import SUBPROTOCOL, ErrorCode
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate_protocol import CandidateProtocol
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.login_limit import LoginLimits
from cbt_server.runtime.ws_common import to_ws_error
from cbt_server.runtime.ws_core import Close, Fail, Grade, LoggedIn, Read, Save, Send
from tests.runtime.ws_plans import drive

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
LOGIN = LoggedIn(candidate_id=7, session_id=3, conn_id="p:abc", token="resume-me")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def protocol(limits: LoginLimits | None = None, clock: Clock | None = None) -> CandidateProtocol:
    return CandidateProtocol(
        limits or LoginLimits(),
        remote="10.0.0.9",
        max_bytes=16_384,
        now=lambda: NOW,
        monotonic=clock or Clock(),
    )


def logged_in() -> CandidateProtocol:
    proto = protocol()
    proto.login = LOGIN
    return proto


def hello(ticket: str = "T001", **fields: Any) -> str:
    body = {"type": "hello", "protocol": SUBPROTOCOL, "ticket": ticket, "id_number": "X1"}
    return json.dumps(body | fields)


def answer(seq: int, item: str = "i1", response: list[str] | None = None) -> str:
    return json.dumps(
        {"type": "answer", "seq": seq, "item_id": item, "response": response or ["A"]}
    )


def flag(seq: int, item: str = "i1") -> str:
    return json.dumps({"type": "flag", "seq": seq, "item_id": item, "flagged": True})


def code_of(effect: object) -> tuple[str, int | None]:
    """The `error` message code and ref_seq a failure is reported with."""
    assert isinstance(effect, Fail)
    error = to_ws_error(effect.error, effect.ref_seq).error
    return error.code, error.ref_seq


# --- login ------------------------------------------------------------------------------


def test_a_login_is_committed_then_registered_with_its_token() -> None:
    proto = protocol()
    effects = drive(
        proto.receive([hello(seat=4)]), lambda e: LOGIN if isinstance(e, msg.Hello) else None
    )
    assert len(effects) == 2
    log_in, register = effects
    assert isinstance(log_in, msg.Hello)
    assert (log_in.ticket, log_in.seat) == ("T001", 4)
    assert register == LOGIN
    assert proto.login == LOGIN


def test_a_refused_login_counts_against_ticket_seat_and_address_until_held() -> None:
    clock = Clock()
    proto = protocol(LoginLimits(per_ticket=2, per_seat=10, per_address=30, window=60.0), clock)

    def refuse(effect: object) -> object:
        raise LoginFailed("ticket number or ID-card number is wrong")

    for _ in range(2):
        (log_in, failed) = drive(proto.receive([hello()]), refuse)
        assert isinstance(log_in, msg.Hello)
        assert code_of(failed) == ("login_failed", None)
    # Held now: refused before any unit of work, with the wait in the message.
    (held,) = drive(proto.receive([hello()]), refuse)
    assert isinstance(held, Fail) and isinstance(held.error, RateLimited)
    assert "60 s" in held.error.message
    assert proto.login is None
    clock.t += 60.0  # the first failure has left the window
    effects = drive(proto.receive([hello()]), lambda e: LOGIN if isinstance(e, msg.Hello) else None)
    assert effects[-1] == LOGIN


def test_a_success_clears_the_tickets_failures() -> None:
    limits = LoginLimits(per_ticket=2, per_seat=10, per_address=30, window=60.0)

    def refuse(effect: object) -> object:
        raise LoginFailed("wrong")

    drive(protocol(limits).receive([hello()]), refuse)
    drive(
        protocol(limits).receive([hello()]), lambda e: LOGIN if isinstance(e, msg.Hello) else None
    )
    drive(protocol(limits).receive([hello()]), refuse)  # the second failure, not the third
    assert limits.ticket.wait_time("ticket:T001", 1000.0) == 0.0
    drive(protocol(limits).receive([hello()]), refuse)
    assert limits.ticket.wait_time("ticket:T001", 1000.0) > 0


def test_another_protocol_version_is_refused_and_closes() -> None:
    proto = protocol()
    (failed,) = drive(proto.receive([hello(protocol="cbt.v0")]))
    assert code_of(failed) == (ErrorCode.UNSUPPORTED_VERSION, None)
    assert to_ws_error(failed.error).close_code == 1002  # type: ignore[attr-defined]


def test_a_second_hello_is_unexpected() -> None:
    (failed,) = drive(logged_in().receive([hello()]))
    assert code_of(failed) == (ErrorCode.UNEXPECTED, None)


# --- answers, flags, submit -------------------------------------------------------------


def test_answers_before_a_login_each_get_hello_required() -> None:
    effects = drive(protocol().receive([answer(1), flag(2)]))
    assert [code_of(e) for e in effects] == [("hello_required", 1), ("hello_required", 2)]


def test_answers_and_flags_that_arrived_together_are_one_save_then_acked_each() -> None:
    proto = logged_in()
    frames = [answer(1, "i1", ["B"]), flag(2, "i2"), answer(3, "i3", [])]
    effects = drive(proto.receive(frames), lambda e: [None, None, None])
    save, *acks = effects
    assert isinstance(save, Save)
    assert [(type(c).__name__, c.seq, c.item_id) for c in save.changes] == [
        ("Answer", 1, "i1"),
        ("Flag", 2, "i2"),
        ("Answer", 3, "i3"),
    ]
    assert acks == [Send(msg.Ack(seq=1)), Send(msg.Ack(seq=2)), Send(msg.Ack(seq=3))]


def test_a_refused_change_gets_its_error_and_the_others_their_ack() -> None:
    stale = StaleSeq("seq 2 was never applied")
    effects = drive(logged_in().receive([answer(1), answer(2), answer(3)]),
                    lambda e: [None, stale, None])  # fmt: skip
    assert effects[1:] == [Send(msg.Ack(seq=1)), Fail(stale, 2), Send(msg.Ack(seq=3))]
    assert code_of(effects[2]) == ("stale_seq", 2)


def test_a_failed_save_reports_its_error_for_every_change_and_acks_none() -> None:
    def down(effect: object) -> object:
        raise TimeoutError("database unavailable")

    effects = drive(logged_in().receive([answer(1), flag(2)]), down)
    assert isinstance(effects[0], Save)
    assert [code_of(e) for e in effects[1:]] == [("unavailable", 1), ("unavailable", 2)]


def test_a_save_refused_as_a_whole_is_the_error_of_each_change() -> None:
    paused = Paused("the exam is paused")

    def refuse(effect: object) -> object:
        raise paused

    effects = drive(logged_in().receive([answer(4), answer(5)]), refuse)
    assert effects[1:] == [Fail(paused, 4), Fail(paused, 5)]


def test_other_messages_split_a_run_of_answers_in_arrival_order() -> None:
    effects = drive(
        logged_in().receive([answer(1), json.dumps({"type": "ping"}), answer(2)]),
        lambda e: [None] if isinstance(e, Save) else None,
    )
    kinds = [type(e).__name__ for e in effects]
    assert kinds == ["Save", "Send", "Send", "Save", "Send"]
    assert isinstance(effects[2], Send) and isinstance(effects[2].message, msg.Pong)
    assert effects[2].message.server_time == NOW


def test_answers_after_a_login_in_the_same_frames_are_saved_as_that_candidate() -> None:
    proto = protocol()

    def result(effect: object) -> object:
        return (
            LOGIN if isinstance(effect, msg.Hello) else [None] if isinstance(effect, Save) else None
        )

    effects = drive(proto.receive([hello(), answer(1)]), result)
    assert [type(e).__name__ for e in effects] == ["Hello", "LoggedIn", "Save", "Send"]
    assert effects[-1] == Send(msg.Ack(seq=1))


def test_malformed_and_binary_frames_are_reported_and_the_rest_handled() -> None:
    effects = drive(logged_in().receive(["{not json", None, answer(9)]), lambda e: [None])
    assert code_of(effects[0]) == ("malformed", None)
    assert code_of(effects[1]) == ("malformed", None)
    assert isinstance(effects[1], Fail) and "binary" in str(effects[1].error)
    assert isinstance(effects[2], Save) and [m.seq for m in effects[2].changes] == [9]
    assert effects[3:] == [Send(msg.Ack(seq=9))]


def test_an_invalid_answer_names_its_seq() -> None:
    bad = json.dumps({"type": "answer", "seq": 6, "item_id": "i1", "response": "A"})
    (failed,) = drive(logged_in().receive([bad]))
    assert code_of(failed) == ("invalid_message", 6)


def test_a_submit_is_acked_then_graded_once_applied() -> None:
    effects = drive(
        logged_in().receive([json.dumps({"type": "submit", "seq": 12})]), lambda e: True
    )
    assert effects == [msg.Submit(seq=12), Send(msg.Ack(seq=12)), Grade(7)]


def test_a_resent_submit_is_acked_again_and_not_graded_again() -> None:
    effects = drive(logged_in().receive([json.dumps({"type": "submit", "seq": 12})]),
                    lambda e: False)  # fmt: skip
    assert effects == [msg.Submit(seq=12), Send(msg.Ack(seq=12))]


def test_a_refused_submit_is_its_error_and_no_ack() -> None:
    late = TimeUp("time is up")

    def refuse(effect: object) -> object:
        raise late

    effects = drive(logged_in().receive([json.dumps({"type": "submit", "seq": 3})]), refuse)
    assert effects == [msg.Submit(seq=3), Fail(late, 3)]
    assert code_of(effects[1]) == ("time_up", 3)


def test_a_submit_before_a_login_is_hello_required() -> None:
    (failed,) = drive(protocol().receive([json.dumps({"type": "submit", "seq": 1})]))
    assert code_of(failed) == ("hello_required", 1)


# --- events -----------------------------------------------------------------------------


def state() -> msg.State:
    return msg.State(
        server_time=NOW,
        session=msg.SessionInfo(
            id=3, code="S", title="t", state=SessionState.STARTED, show_scores=True,
            duration_ms=60_000,
        ),
        candidate=msg.CandidateInfo(
            ticket="T001", name="n", occupation="o", occupation_name="o", level=3,
            level_name="l", seat=4, state=CandidateState.ANSWERING,
        ),
        answers={}, flags=[], remaining_ms=60_000, paused=False, acked_seq=0,
        resume_token=LOGIN.token,
    )  # fmt: skip


def test_a_takeover_by_another_connection_closes_this_one() -> None:
    proto = logged_in()
    other = Event(Kind.CANDIDATE_TAKEOVER, 3, 7, {"conn_id": "p:other"})
    assert drive(proto.event(other)) == [Close(1008, "logged_in_elsewhere", reconnect=False)]
    own = Event(Kind.CANDIDATE_TAKEOVER, 3, 7, {"conn_id": LOGIN.conn_id})
    assert drive(proto.event(own)) == []


def test_a_resync_reads_and_sends_the_full_state() -> None:
    full = state()
    effects = drive(logged_in().event(Event(Kind.RESYNC, 0)), lambda e: full)
    assert effects == [Read("state", Event(Kind.RESYNC, 0)), Send(full)]


def test_the_start_sends_the_rooms_shared_state_or_reads_its_own() -> None:
    started = Event(Kind.SESSION_STARTED, 3)
    full = state()
    shared = drive(logged_in().event(started), lambda e: full)
    assert shared == [Read("room", started), Send(full)]
    own = drive(
        logged_in().event(started),
        lambda e: full if isinstance(e, Read) and e.source == "state" else None,
    )
    assert own == [Read("room", started), Read("state", started), Send(full)]


def test_a_submission_that_tells_its_message_is_sent_without_a_read() -> None:
    at = "2026-05-04T09:31:00+00:00"
    told = Event(Kind.CANDIDATE_SUBMITTED, 3, 7, {"reason": "timeout", "at": at})
    (sent,) = drive(logged_in().event(told))
    assert sent == Send(
        msg.Submitted(reason=SubmitReason.TIMEOUT, submitted_at=datetime.fromisoformat(at))
    )
    hidden = Event(Kind.CANDIDATE_GRADED, 3, 7, {"shown": False})
    assert drive(logged_in().event(hidden)) == []


def test_other_events_are_read_and_sent_if_they_say_anything() -> None:
    time = Event(Kind.CANDIDATE_TIME, 3, 7, {"reason": "power cut"})
    told = msg.Time(remaining_ms=90_000, server_time=NOW, extra_ms=30_000, reason="power cut")
    assert drive(logged_in().event(time), lambda e: told) == [Read("event", time), Send(told)]
    paused = Event(Kind.SESSION_PAUSED, 3)
    assert drive(logged_in().event(paused), lambda e: None) == [Read("event", paused)]


def test_events_the_client_does_not_hear_of_do_nothing() -> None:
    for kind in (Kind.CANDIDATE_ANSWERED, Kind.CANDIDATE_CONNECTED, Kind.SESSION_CHECKIN):
        assert not CandidateProtocol.hears(Event(kind, 3, 7))
        assert drive(logged_in().event(Event(kind, 3, 7))) == []
    for kind in (Kind.CANDIDATE_TAKEOVER, Kind.RESYNC, Kind.CANDIDATE_TIME, Kind.SESSION_PAUSED):
        assert CandidateProtocol.hears(Event(kind, 3, 7))


def test_no_effect_is_left_half_done_when_an_error_comes_back() -> None:
    """An error thrown back at any effect ends that message's plan, never the batch."""
    effects = drive(
        logged_in().receive([json.dumps({"type": "submit", "seq": 1}), answer(2)]),
        lambda e: (
            (_ for _ in ()).throw(RuntimeError("boom")) if isinstance(e, msg.Submit) else [None]
        ),
    )
    assert [type(e).__name__ for e in effects] == ["Submit", "Fail", "Save", "Send"]
    assert code_of(effects[1]) == ("internal", 1)
