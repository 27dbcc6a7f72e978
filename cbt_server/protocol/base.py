"""Protocol constants, the message type enum, the base model and the one ProtocolError."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from cbt_server.errors import InvalidInput

SUBPROTOCOL = "cbt.v1"
"""WebSocket subprotocol (Sec-WebSocket-Protocol) and the `protocol` field of `hello`."""

MAX_FRAME_BYTES = 16 * 1024
"""Largest client frame the server reads; larger ones are answered with `too_large`."""

MAX_SEQ = 2**31 - 1

Seq = Annotated[int, Field(ge=1, le=MAX_SEQ)]
ItemId = Annotated[str, Field(min_length=1, max_length=128)]
Reason = Annotated[str, Field(max_length=500)]
CandidateId = Annotated[int, Field(ge=1, le=MAX_SEQ)]
Millis = Annotated[int, Field(ge=0)]


class MessageType(StrEnum):
    # candidate -> server
    HELLO = "hello"
    ANSWER = "answer"
    FLAG = "flag"
    SUBMIT = "submit"
    PING = "ping"
    FOCUS = "focus"  # the exam window lost focus or left full screen
    PRACTICE_HELLO = "practice_hello"  # practice: log in with a practice code
    CHECK = "check"  # practice: one item's key
    REVIEW = "review"  # practice: every item's key, once handed in
    # proctor -> server (also `hello` and `ping`)
    OPEN_CHECKIN = "open_checkin"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    EXTRA_TIME = "extra_time"
    UNLOCK = "unlock"
    FORCE_SUBMIT = "force_submit"
    MARK_ABSENT = "mark_absent"
    END_SESSION = "end_session"
    ADMIT_LATE = "admit_late"
    VERIFY_IDENTITY = "verify_identity"
    NOTE = "note"
    # server -> candidate
    STATE = "state"
    ACK = "ack"
    PAUSED = "paused"
    RESUMED = "resumed"
    TIME = "time"
    SUBMITTED = "submitted"
    RESULT = "result"
    ERROR = "error"
    CLOSING = "closing"
    PONG = "pong"
    CHECKED = "checked"
    REVIEWED = "reviewed"
    # server -> proctor (also ack, error, closing, pong)
    ROOM = "room"
    SEAT = "seat"
    ALARMS = "alarms"


class ErrorCode(StrEnum):
    """Codes of protocol-level errors (domain errors add their own, see docs/protocol.md)."""

    MALFORMED = "malformed"  # not a JSON object, or a binary frame
    UNKNOWN_TYPE = "unknown_type"
    INVALID_MESSAGE = "invalid_message"  # a known type with missing/extra/wrong fields
    TOO_LARGE = "too_large"
    UNSUPPORTED_VERSION = "unsupported_version"
    HELLO_REQUIRED = "hello_required"  # the first message must be `hello`
    UNEXPECTED = "unexpected"  # a valid message that makes no sense now (second hello)


class ProtocolError(InvalidInput):
    """A frame that is not a valid message of this protocol."""

    def __init__(self, code: str, message: str, *, ref_seq: int | None = None) -> None:
        super().__init__(message, code=code)
        self.ref_seq = ref_seq


class Message(BaseModel):
    """Base of every message: strict types, no unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Sequenced(Message):
    """A message the server answers by its `seq`: `ack` once it is done and committed (or
    was already), or `error` with `ref_seq`."""

    type: str
    seq: Seq
