"""Messages between a candidate's client and the server (`/ws/candidate`).

The paper a candidate receives (`PaperView`) has no field for keys, mappings or scores,
and every model forbids extra fields, so such data cannot ride along by accident.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from cbt_server.exam.grading import ItemType
from cbt_server.exam.state import CandidateState, SessionState, SubmitReason
from cbt_server.protocol.base import ItemId, Message, Millis, Reason, Seq, Sequenced

Choice = Annotated[str, Field(min_length=1, max_length=8)]
Response = Annotated[list[Choice], Field(max_length=6)]
PauseScope = Literal["candidate", "room"]
SessionMode = Literal["formal", "rehearsal", "practice"]
FeedbackMode = Literal["item", "end"]

# --- client -> server -----------------------------------------------------------------


class Hello(Message):
    """First message: the protocol spoken and the login (ticket + ID-card number).

    `resume_token` is the token from an earlier `state` on this PC: with it a reconnect
    takes over the candidate's login; without it a candidate logged in elsewhere is
    refused until a proctor unlocks them. `seat` is the PC's seat number if it knows it.
    """

    type: Literal["hello"] = "hello"
    protocol: Annotated[str, Field(max_length=32)]
    ticket: Annotated[str, Field(min_length=1, max_length=64)]
    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    seat: Annotated[int, Field(ge=1, le=100_000)] | None = None
    resume_token: Annotated[str, Field(max_length=128)] | None = None


class PracticeHello(Message):
    """First message of a self-service practice (练习): the practice code a proctor gave
    out instead of a ticket. Without `resume_token` the server makes a new practice
    candidate with their own paper; with the token of an earlier `state` it resumes them.
    Added compatibly."""

    type: Literal["practice_hello"] = "practice_hello"
    protocol: Annotated[str, Field(max_length=32)]
    code: Annotated[str, Field(min_length=1, max_length=40)]
    seat: Annotated[int, Field(ge=1, le=100_000)] | None = None
    resume_token: Annotated[str, Field(max_length=128)] | None = None


class Check(Message):
    """Practice with item feedback: show whether the stored answer to this item is right,
    and its key (answered by `checked`); the item is locked from then on. Refused
    (`not_practice`) in every formal or rehearsal session. Added compatibly."""

    type: Literal["check"] = "check"
    item_id: ItemId


class Review(Message):
    """Practice, after handing in: every item right or wrong with its key (answered by
    `reviewed`). Added compatibly."""

    type: Literal["review"] = "review"


class ItemChange(Sequenced):
    """A change to one item of the paper."""

    item_id: ItemId


class Answer(ItemChange):
    """Set the response to one item (an empty list clears it)."""

    type: Literal["answer"] = "answer"
    response: Response


class Flag(ItemChange):
    """Mark or unmark an item for review."""

    type: Literal["flag"] = "flag"
    flagged: bool


class Submit(Sequenced):
    type: Literal["submit"] = "submit"


class Ping(Message):
    type: Literal["ping"] = "ping"


FocusEvent = Literal["blur", "fullscreen_exit"]


class Focus(Message):
    """The exam window lost focus (`blur`) or left full screen (`fullscreen_exit`) at
    `at` (the PC's clock, for the record); the server counts it for the proctor. Not
    answered, never blocking: a page that lost focus by accident just carries on."""

    type: Literal["focus"] = "focus"
    event: FocusEvent
    at: AwareDatetime | None = None


CandidateInbound = Annotated[
    Hello | Answer | Flag | Submit | Ping | Focus | PracticeHello | Check | Review,
    Field(discriminator="type"),
]

# --- server -> client -----------------------------------------------------------------


class ImageView(Message):
    """An image: `src` is a data: URI (embedded at import) or a path the bank could not
    resolve; `alt` its text alternative."""

    src: str
    alt: str = ""


class OptionView(Message):
    id: str
    text: str
    image: ImageView | None = None


class ItemView(Message):
    item_id: str
    type: ItemType
    stem: str
    images: list[ImageView] = []
    options: list[OptionView]


class SectionView(Message):
    type: ItemType
    title: str
    items: list[ItemView]


class PaperView(Message):
    """The paper as the candidate sees it: items in paper order, options in display order."""

    paper_id: str
    sections: list[SectionView]


class SessionInfo(Message):
    """The session; the fields after `started_at` were added compatibly (issue 20): the
    paper's figures for the waiting screen and the rules of the sitting."""

    id: int
    code: str
    title: str
    state: SessionState
    show_scores: bool
    duration_ms: Millis
    started_at: AwareDatetime | None = None
    items: Annotated[int, Field(ge=0)] | None = None
    total_score: float | None = None
    pass_mark: float | None = None
    late_minutes: Annotated[int, Field(ge=0)] | None = None
    min_submit_minutes: Annotated[int, Field(ge=0)] | None = None
    submit_opens_at: AwareDatetime | None = None
    calculator: bool = False
    mode: SessionMode = "formal"
    feedback: FeedbackMode | None = None
    untimed: bool = False


class CandidateInfo(Message):
    ticket: str
    name: str
    occupation: str
    occupation_name: str
    level: int
    level_name: str
    seat: int
    state: CandidateState
    submit_reason: SubmitReason | None = None


class ResultView(Message):
    total: float
    max_total: float
    pass_mark: float
    passed: bool


class State(Message):
    """The full state, sent after every successful `hello` and after the session starts."""

    type: Literal["state"] = "state"
    server_time: AwareDatetime
    session: SessionInfo
    candidate: CandidateInfo
    paper: PaperView | None = None
    answers: dict[str, list[str]]
    flags: list[str]
    remaining_ms: Millis
    paused: bool
    pause_scope: PauseScope | None = None
    acked_seq: Annotated[int, Field(ge=0)]
    resume_token: str | None = None
    result: ResultView | None = None
    checked: list[str] = []


class Ack(Message):
    """The message with this `seq` is committed to the database (or was already)."""

    type: Literal["ack"] = "ack"
    seq: Seq


class PausedMsg(Message):
    type: Literal["paused"] = "paused"
    scope: PauseScope
    reason: Reason = ""
    remaining_ms: Millis
    server_time: AwareDatetime


class Resumed(Message):
    type: Literal["resumed"] = "resumed"
    remaining_ms: Millis
    server_time: AwareDatetime


class Time(Message):
    """A new remaining time, e.g. after extra time was granted."""

    type: Literal["time"] = "time"
    remaining_ms: Millis
    server_time: AwareDatetime
    extra_ms: Millis = 0
    reason: Reason = ""


class Submitted(Message):
    type: Literal["submitted"] = "submitted"
    reason: SubmitReason
    submitted_at: AwareDatetime


class Result(Message):
    """Sent after grading, only when the session shows scores to candidates."""

    type: Literal["result"] = "result"
    total: float
    max_total: float
    pass_mark: float
    passed: bool


class ItemCheck(Message):
    """One item's answer against its key (practice only). `key` and `response` are option
    ids as the paper shows them (`"true"`/`"false"` for true/false items)."""

    item_id: str
    correct: bool
    outcome: Literal["correct", "partial", "wrong", "unanswered"]
    response: list[str]
    key: list[str]


class Checked(ItemCheck):
    """The answer to `check`: this item's answer against its key; the item is locked."""

    type: Literal["checked"] = "checked"


class Reviewed(Message):
    """The answer to `review`: every item of the paper in order with its key, and the
    paper (the `state` after hand-in has none)."""

    type: Literal["reviewed"] = "reviewed"
    items: list[ItemCheck]
    paper: PaperView | None = None


class Error(Message):
    type: Literal["error"] = "error"
    code: Annotated[str, Field(min_length=1, max_length=64)]
    message: str
    ref_seq: int | None = None


class Closing(Message):
    """The server is about to close this connection; reconnect if `reconnect` is true."""

    type: Literal["closing"] = "closing"
    reason: str
    reconnect: bool


class Pong(Message):
    type: Literal["pong"] = "pong"
    server_time: AwareDatetime
    remaining_ms: Millis | None = None


CandidateOutbound = Annotated[
    State
    | Ack
    | PausedMsg
    | Resumed
    | Time
    | Submitted
    | Result
    | Error
    | Closing
    | Pong
    | Checked
    | Reviewed,
    Field(discriminator="type"),
]
