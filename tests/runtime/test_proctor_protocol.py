"""The console protocol without sockets or a database (`proctor_protocol`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cbt_server.errors import Forbidden, InvalidTransition
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.protocol import candidate as cmsg
from cbt_server.protocol import proctor as msg
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.proctor_protocol import ProctorProtocol, coalesces, seats_to_update
from cbt_server.runtime.ws_common import to_ws_error
from cbt_server.runtime.ws_core import Fail, Grade, Send
from tests.runtime.ws_plans import drive

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def console(watching: int | None = None) -> ProctorProtocol:
    proto = ProctorProtocol(max_bytes=16_384, now=lambda: NOW)
    proto.session_id = watching
    return proto


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def hello(session_id: int = 5, protocol: str = SUBPROTOCOL) -> str:
    return frame(type="hello", protocol=protocol, session_id=session_id)


def code_of(effect: object) -> tuple[str, int | None]:
    assert isinstance(effect, Fail)
    error = to_ws_error(effect.error, effect.ref_seq).error
    return error.code, error.ref_seq


def test_commands_before_a_hello_are_hello_required() -> None:
    (failed,) = drive(console().receive([frame(type="start", seq=1)]))
    assert code_of(failed) == ("hello_required", 1)


def test_a_hello_watches_the_session_and_commands_then_go_to_it() -> None:
    proto = console()
    (watch,) = drive(proto.receive([hello(5)]))
    assert watch == msg.ProctorHello(protocol=SUBPROTOCOL, session_id=5)
    assert proto.session_id == 5
    effects = drive(proto.receive([frame(type="start", seq=2)]))
    assert effects == [msg.Start(seq=2), Send(cmsg.Ack(seq=2)), Grade(None, wake=True)]


def test_a_refused_watch_leaves_the_console_without_a_session() -> None:
    proto = console()

    def refuse(effect: object) -> object:
        raise Forbidden("not your session")

    effects = drive(proto.receive([hello(5), frame(type="open_checkin", seq=1)]), refuse)
    assert isinstance(effects[0], msg.ProctorHello)
    assert code_of(effects[1]) == ("forbidden", None)
    assert code_of(effects[2]) == ("hello_required", 1)
    assert proto.session_id is None


def test_a_forced_submission_is_acked_then_graded() -> None:
    command = frame(type="force_submit", seq=4, candidate_id=11, reason="left the room")
    effects = drive(console(5).receive([command]))
    assert effects == [
        msg.ForceSubmit(seq=4, candidate_id=11, reason="left the room"),
        Send(cmsg.Ack(seq=4)),
        Grade(11, wake=True),
    ]


def test_a_refused_command_is_its_error_and_no_ack() -> None:
    wrong = InvalidTransition("session S is checkin, not started")

    def refuse(effect: object) -> object:
        raise wrong

    pause = frame(type="pause", seq=7, reason="fire alarm")
    assert drive(console(5).receive([pause]), refuse) == [
        msg.Pause(seq=7, reason="fire alarm"),
        Fail(wrong, 7),
    ]


def test_a_second_hello_a_ping_and_bad_frames() -> None:
    effects = drive(console(5).receive([hello(6), frame(type="ping"), "[]", None]))
    assert code_of(effects[0]) == ("unexpected", None)
    assert effects[1] == Send(cmsg.Pong(server_time=NOW))
    assert code_of(effects[2])[0] in ("malformed", "invalid_message")
    assert code_of(effects[3]) == ("malformed", None)


def test_another_protocol_version_is_refused() -> None:
    (failed,) = drive(console().receive([hello(protocol="cbt.v9")]))
    assert code_of(failed) == ("unsupported_version", None)
    assert to_ws_error(failed.error).close_code == 1002  # type: ignore[attr-defined]


def test_seat_events_update_their_seats_and_others_the_room() -> None:
    answered = [Event(Kind.CANDIDATE_ANSWERED, 5, 3), Event(Kind.CANDIDATE_ANSWERED, 5, 1)]
    assert seats_to_update([*answered, Event(Kind.CANDIDATE_CONNECTED, 5, 3)]) == [3, 1]
    assert seats_to_update([*answered, Event(Kind.SESSION_PAUSED, 5)]) is None
    assert seats_to_update([Event(Kind.RESYNC, 0)]) is None
    assert coalesces(answered[0])
    assert not coalesces(Event(Kind.RESYNC, 0, 3))
    assert not coalesces(Event(Kind.SESSION_STARTED, 5))


def test_a_note_is_capped_at_the_consoles_500_characters() -> None:
    long = frame(type="note", seq=8, text="记" * 501)
    (refused,) = drive(console(5).receive([long]))
    assert code_of(refused) == ("invalid_message", 8)
    assert isinstance(refused, Fail) and "text" in str(refused.error)
    full = frame(type="note", seq=9, text="记" * 500)
    effects = drive(console(5).receive([full]))
    assert effects[:2] == [msg.Note(seq=9, text="记" * 500), Send(cmsg.Ack(seq=9))]
