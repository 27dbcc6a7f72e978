"""The candidate side of `cbt.v1` without I/O: frames and events in, effects out.

It holds what a connection knows (whether and as whom it is logged in), applies the login
limits, groups the answers and flags that arrived together (they share one transaction
and are acknowledged after it), and turns each outcome into `ack` or `error`, and each
event into the message the client is sent or the read that builds it. `ws_candidate`
carries out its effects (see `ws_core`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cbt_server.errors import LoginFailed
from cbt_server.exam.state import SubmitReason
from cbt_server.protocol import ErrorCode, Message, ProtocolError, parse_candidate
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.login_limit import LoginLimits
from cbt_server.runtime.ws_core import Fail, Plan, Send, parse_frame, require_protocol

PAUSE_KINDS = frozenset(
    {Kind.SESSION_PAUSED, Kind.SESSION_RESUMED, Kind.CANDIDATE_PAUSED, Kind.CANDIDATE_RESUMED}
)
STATE_KINDS = frozenset(
    {Kind.RESYNC, Kind.SESSION_STARTED, Kind.SESSION_ENDED, Kind.CANDIDATE_ABSENT}
)
HANDLED = (
    PAUSE_KINDS
    | STATE_KINDS
    | {Kind.CANDIDATE_TIME, Kind.CANDIDATE_SUBMITTED, Kind.CANDIDATE_GRADED}
)
"""The events a candidate's client hears of (besides a takeover of their login)."""

Change = msg.Answer | msg.Flag


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A committed login: who, on which connection, with which resume token."""

    candidate_id: int
    session_id: int
    conn_id: str
    token: str


# --- effects (besides `Send` and `Fail`) and the result each is answered with -----------


@dataclass(frozen=True, slots=True)
class LogIn:
    """Log in with this `hello` in a unit of work; answered with `LoggedIn` (or raises)."""

    hello: msg.Hello


@dataclass(frozen=True, slots=True)
class Register:
    """The login is committed: take the connection's events, the full state first."""

    login: LoggedIn


@dataclass(frozen=True, slots=True)
class Save:
    """Store these answers and flags together; answered with one refusal or None each."""

    login: LoggedIn
    changes: Sequence[Change]


@dataclass(frozen=True, slots=True)
class SubmitPaper:
    """Submit the paper; answered True if submitted now, False for a resend."""

    login: LoggedIn
    seq: int


@dataclass(frozen=True, slots=True)
class Grade:
    """Grade the candidate's submitted paper."""

    candidate_id: int


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection with this code and reason (the client is told first)."""

    code: int
    reason: str
    reconnect: bool


@dataclass(frozen=True, slots=True)
class ReadRoomState:
    """The full state from the room's shared read at a start; answered State or None."""

    event: Event


@dataclass(frozen=True, slots=True)
class ReadState:
    """Read the full state; answered with the `state` message."""


@dataclass(frozen=True, slots=True)
class ReadEventMessage:
    """Read what the client is told of this event; answered with a message or None."""

    event: Event


POLICY_VIOLATION = 1008
"""The close code of a connection whose login was taken over elsewhere."""


class CandidateProtocol:
    """One candidate connection's protocol state, from the first frame to the close."""

    def __init__(
        self,
        limits: LoginLimits,
        *,
        remote: str,
        max_bytes: int,
        now: Callable[[], datetime],
        monotonic: Callable[[], float],
    ) -> None:
        self.limits = limits
        self.remote = remote
        self.max_bytes = max_bytes
        self.now = now
        self.monotonic = monotonic
        self.login: LoggedIn | None = None

    # --- frames in ------------------------------------------------------------------------

    def receive(self, frames: Sequence[str | None]) -> Plan:
        """The plan for frames that arrived together, handled in order. Answers and flags
        in a row are saved in one unit of work (group commit) and acknowledged after it:
        a client resending a backlog after a reconnect costs one commit, not one each."""
        group: list[Change] = []
        for data in frames:
            try:
                message = parse_frame(data, parse_candidate, self.max_bytes)
            except ProtocolError as error:
                yield Fail(error)
                continue
            if isinstance(message, msg.Answer | msg.Flag):
                group.append(message)
                continue
            yield from self._save(group)
            group = []
            try:
                yield from self._handle(message)
            except Exception as error:
                yield Fail(error, getattr(message, "seq", None))
        yield from self._save(group)

    def _handle(self, message: Message) -> Plan:
        if isinstance(message, msg.Ping):
            yield Send(msg.Pong(server_time=self.now()))
        elif isinstance(message, msg.Hello):
            yield from self._hello(message)
        elif isinstance(message, msg.Submit):
            login = self._logged_in()
            applied = yield SubmitPaper(login, message.seq)
            yield Send(msg.Ack(seq=message.seq))
            if applied:
                yield Grade(login.candidate_id)
        else:  # pragma: no cover - the parser admits no other type
            raise ProtocolError(ErrorCode.UNEXPECTED, f"unexpected {message!r}")

    def _logged_in(self) -> LoggedIn:
        if self.login is None:
            raise ProtocolError(ErrorCode.HELLO_REQUIRED, "log in with `hello` first")
        return self.login

    def _hello(self, hello: msg.Hello) -> Plan:
        if self.login is not None:
            raise ProtocolError(ErrorCode.UNEXPECTED, "this connection is logged in already")
        require_protocol(hello.protocol)
        ticket_key = f"ticket:{hello.ticket.strip()}"
        address_key = f"ip:{self.remote}"
        seat_key = f"seat:{hello.seat}" if hello.seat is not None else address_key
        self.limits.check(ticket_key, seat_key, self.monotonic(), address_key)
        try:
            login = yield LogIn(hello)
        except LoginFailed:
            self.limits.failed(ticket_key, seat_key, self.monotonic(), address_key)
            raise
        assert isinstance(login, LoggedIn)
        self.limits.succeeded(ticket_key)
        self.login = login
        yield Register(login)

    def _save(self, group: list[Change]) -> Plan:
        """Save answers and flags in one unit of work; then ack each (or report its error).

        The service checks every change before it writes it, so a change refused with a
        domain error leaves nothing behind and the others of the group still commit.
        """
        if not group:
            return
        if self.login is None:
            for message in group:
                yield Fail(ProtocolError(ErrorCode.HELLO_REQUIRED, "log in with `hello` first"),
                           message.seq)  # fmt: skip
            return
        try:
            outcomes = yield Save(self.login, group)
        except Exception as error:  # nothing was committed: each message gets the error
            for message in group:
                yield Fail(error, message.seq)
            return
        assert isinstance(outcomes, list)
        for message, refused in zip(group, outcomes, strict=True):
            yield Send(msg.Ack(seq=message.seq)) if refused is None else Fail(refused, message.seq)

    # --- events in ------------------------------------------------------------------------

    def event(self, event: Event) -> Plan:
        """The plan for one event of this candidate's: what their client is told."""
        login = self._logged_in()
        if event.kind is Kind.CANDIDATE_TAKEOVER:
            if event.data.get("conn_id") != login.conn_id:
                yield Close(POLICY_VIOLATION, "logged_in_elsewhere", reconnect=False)
            return
        if event.kind not in HANDLED:
            return
        if event.kind is Kind.SESSION_STARTED:
            # Everyone's paper at once: one read of the room serves every connection.
            state = yield ReadRoomState(event)
            if isinstance(state, Message):
                yield Send(state)
                return
        if event_tells(event):
            told = message_of_event(event)
            if told is not None:
                yield Send(told)
            return
        read = ReadState() if event.kind in STATE_KINDS else ReadEventMessage(event)
        message = yield read
        if isinstance(message, Message):
            yield Send(message)


def event_tells(event: Event) -> bool:
    """Whether the event carries all its message says (a submission's reason and time, a
    grading's result or that scores are not shown); older events are answered from the
    database."""
    if event.kind is Kind.CANDIDATE_SUBMITTED:
        return "at" in event.data
    if event.kind is Kind.CANDIDATE_GRADED:
        return "shown" in event.data
    return False


def message_of_event(event: Event) -> Message | None:
    """The `submitted` or `result` message from an event that tells it (`event_tells`)."""
    if event.kind is Kind.CANDIDATE_SUBMITTED:
        return msg.Submitted(
            reason=SubmitReason(str(event.data["reason"])),
            submitted_at=datetime.fromisoformat(str(event.data["at"])),
        )
    result = event.data.get("result")
    if not event.data.get("shown") or not isinstance(result, dict):
        return None
    return msg.Result(**msg.ResultView.model_validate(result).model_dump())
