"""Messages between a proctor console and the server (`/ws/proctor`).

Commands carry a `seq` chosen by the console; the server answers each with `ack` (done
and committed) or `error` with `ref_seq`. Unlike a candidate's answers, commands are not
deduplicated across connections: after a reconnect a console re-reads the `room` state
instead of resending commands blindly.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.protocol.base import CandidateId, Message, Millis, Reason, Sequenced
from cbt_server.protocol.candidate import Ack, Closing, Error, Ping, Pong, SessionMode

NonEmptyReason = Annotated[str, Field(min_length=1, max_length=500)]
NOTE_LIMIT = 500
"""Characters of a room-record note: the console's text box holds no more."""

# --- console -> server ----------------------------------------------------------------


class ProctorHello(Message):
    """First message: protocol spoken and the session this console watches."""

    type: Literal["hello"] = "hello"
    protocol: Annotated[str, Field(max_length=32)]
    session_id: CandidateId


class OpenCheckin(Sequenced):
    type: Literal["open_checkin"] = "open_checkin"


class Start(Sequenced):
    type: Literal["start"] = "start"


class Pause(Sequenced):
    """Pause one candidate, or the whole room when `candidate_id` is null."""

    type: Literal["pause"] = "pause"
    candidate_id: CandidateId | None = None
    reason: NonEmptyReason


class Resume(Sequenced):
    type: Literal["resume"] = "resume"
    candidate_id: CandidateId | None = None
    reason: Reason = ""


class ExtraTime(Sequenced):
    type: Literal["extra_time"] = "extra_time"
    candidate_id: CandidateId
    seconds: Annotated[int, Field(ge=1, le=4 * 3600)]
    reason: NonEmptyReason


class SeatCommand(Sequenced):
    """A command about one candidate, with its reason for the room record."""

    candidate_id: CandidateId
    reason: NonEmptyReason


class Unlock(SeatCommand):
    """Let a candidate log in again at another PC; their current connection is closed.
    `pc` names that PC (a lab PC's hostname, e.g. the room's spare); without it any PC of
    the room will do."""

    type: Literal["unlock"] = "unlock"
    pc: Annotated[str, Field(min_length=1, max_length=255)] | None = None


class ForceSubmit(SeatCommand):
    type: Literal["force_submit"] = "force_submit"


class AdmitLate(SeatCommand):
    """Admit a candidate past the sitting's late-admission limit (reason recorded)."""

    type: Literal["admit_late"] = "admit_late"


class MarkAbsent(SeatCommand):
    type: Literal["mark_absent"] = "mark_absent"
    reason: Reason = ""


class EndSession(Sequenced):
    """结束考试: mark the never-seen absent, submit those out of time, end the session."""

    type: Literal["end_session"] = "end_session"
    reason: Reason = ""


class VerifyIdentity(Sequenced):
    """Record that the proctor checked this candidate's identity (已核验) at the seat:
    the person against the ID card and the photo. Idempotent: the first check stands."""

    type: Literal["verify_identity"] = "verify_identity"
    candidate_id: CandidateId
    reason: Reason = ""


class Note(Sequenced):
    """An entry for the room record (考场记录表): at most 500 characters, as the console's
    text box allows."""

    type: Literal["note"] = "note"
    text: Annotated[str, Field(min_length=1, max_length=NOTE_LIMIT)]


ProctorCommand = (
    OpenCheckin
    | Start
    | Pause
    | Resume
    | ExtraTime
    | Unlock
    | ForceSubmit
    | MarkAbsent
    | AdmitLate
    | EndSession
    | VerifyIdentity
    | Note
)
"""Every command a console may send after `hello`; each changes the room and is acked."""

ProctorInbound = Annotated[ProctorHello | ProctorCommand | Ping, Field(discriminator="type")]


# --- server -> console ----------------------------------------------------------------


class SeatView(Message):
    """One candidate as the room console shows them."""

    candidate_id: int
    ticket: str
    name: str
    seat: int
    state: CandidateState
    online: bool
    answered: Annotated[int, Field(ge=0)]
    total: Annotated[int, Field(ge=0)]
    remaining_ms: Millis | None = None
    paused: bool
    extra_ms: Millis = 0
    last_seen: AwareDatetime | None = None
    submit_reason: SubmitReason | None = None
    score: float | None = None
    passed: bool | None = None
    focus_lost: Annotated[int, Field(ge=0)] = 0
    fullscreen_exits: Annotated[int, Field(ge=0)] = 0
    late_admitted: bool = False
    photo: bool = False
    """A photo is stored: the console may GET it (staff of the session only)."""
    identity_checked: bool = False
    """A proctor marked the candidate 已核验 (`verify_identity`)."""


class Room(Message):
    """The whole room, sent after `hello` and after session-wide changes."""

    type: Literal["room"] = "room"
    server_time: AwareDatetime
    session_id: int
    session_code: str
    title: str
    state: SessionState
    room_paused: bool
    duration_ms: Millis
    started_at: AwareDatetime | None = None
    late_minutes: int | None = None
    min_submit_minutes: int | None = None
    mode: SessionMode = "formal"
    candidates: list[SeatView]
    rows: Annotated[int, Field(ge=1)] | None = None
    """The room's seat plan (rows × cols, seat 1 front left, row by row), if set."""
    cols: Annotated[int, Field(ge=1)] | None = None


class Seat(Message):
    """One candidate changed (state, connection, answers, time)."""

    type: Literal["seat"] = "seat"
    server_time: AwareDatetime
    candidate: SeatView


class AlarmView(Message):
    """One condition the proctor must act on now, e.g. the server's disk is full."""

    code: Annotated[str, Field(max_length=64)]
    """`disk_full`; a console shows codes it does not know with their `detail`."""
    since: AwareDatetime
    detail: Annotated[str, Field(max_length=2000)]


class Alarms(Message):
    """The server process's alarms, all of them (an empty list: none left). Sent after a
    `room` while any is active, and whenever they change."""

    type: Literal["alarms"] = "alarms"
    server_time: AwareDatetime
    alarms: list[AlarmView]


ProctorOutbound = Annotated[
    Room | Seat | Alarms | Ack | Error | Closing | Pong,
    Field(discriminator="type"),
]
