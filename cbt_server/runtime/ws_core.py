"""What both WebSocket protocols share, without I/O: the effects a protocol asks its
connection to carry out, and the steps every connection takes alike.

A protocol (`candidate_protocol`, `proctor_protocol`) is plain Python: frames and events
go in, and it yields effects, a generator (`Plan`) the connection drives: it carries out
each effect and sends its result back in, or throws in the error it raised. So the
protocol is tested by driving a plan by hand, with no socket and no database (as the
`websockets` library keeps its protocol core apart from its I/O); `ws_connection` is the
one driver.

An inbound message is its own effect where the effect is to carry it out: a candidate's
`hello` (log in; answered with `LoggedIn`) and `submit` (answered True if submitted now,
False for a resend), a console's `hello` (watch the session) and its commands (one unit
of work in the session watched). The others are below.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cbt_server.protocol import SUBPROTOCOL, ErrorCode, Message, ProtocolError
from cbt_server.protocol import candidate as msg
from cbt_server.protocol.base import Sequenced
from cbt_server.protocol.candidate import Ping, Pong
from cbt_server.runtime.events import Event

Plan = Generator[object, object, None]
"""Effects out, each effect's result (or error) back in."""


@dataclass(frozen=True, slots=True)
class Send:
    """Send this message to the client."""

    message: Message


@dataclass(frozen=True, slots=True)
class Fail:
    """Tell the client about this error (an `error` message, and a close if it is fatal);
    `ref_seq` is the number of the message it concerns."""

    error: BaseException
    ref_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Grade:
    """Grade this candidate's submitted paper (then have the deadlines looked at again,
    if `wake`)."""

    candidate_id: int | None
    wake: bool = False


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A committed login: who, on which connection, with which resume token; the answer
    to a candidate's `hello`. The protocol yields it back as an effect once it took the
    login: register the connection for the candidate's events, the full state first."""

    candidate_id: int
    session_id: int
    conn_id: str
    token: str


@dataclass(frozen=True, slots=True)
class Save:
    """Store these answers and flags together; answered with one refusal or None each."""

    changes: Sequence[msg.Answer | msg.Flag]


@dataclass(frozen=True, slots=True)
class Close:
    """Close the connection with this code and reason (the client is told first)."""

    code: int
    reason: str
    reconnect: bool


Source = Literal["room", "state", "event"]


@dataclass(frozen=True, slots=True)
class Read:
    """Read a message for the client of this event: from the room's shared read at a
    start ("room": answered with the state, or None), the candidate's full state
    ("state": answered with the `state` message), or what the client is told of the
    event ("event": answered with a message, or None)."""

    source: Source
    event: Event


Parse = Callable[[str, int], Message]


def parse_frame(data: str | None, parse: Parse, max_bytes: int) -> Message:
    """The message of one text frame (None for a binary one); ProtocolError if invalid."""
    if data is None:
        raise ProtocolError(ErrorCode.MALFORMED, "binary frames are not used")
    return parse(data, max_bytes)


def require_protocol(spoken: str) -> None:
    """Refuse a `hello` in another protocol version than this server's."""
    if spoken != SUBPROTOCOL:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"protocol {spoken!r} is not spoken here; use {SUBPROTOCOL!r}",
        )


class Protocol:
    """What every connection's protocol does with frames: parse each, answer a `ping`,
    hand the others to `handle` (the subclass's), and report any error with the `seq`
    of the message it concerns."""

    def __init__(self, parse: Parse, *, max_bytes: int, now: Callable[[], datetime]) -> None:
        self.parse = parse
        self.max_bytes = max_bytes
        self.now = now

    def receive(self, frames: Sequence[str | None]) -> Plan:
        """The plan for frames that arrived together (None for a binary one), in order."""
        for data in frames:
            try:
                message = parse_frame(data, self.parse, self.max_bytes)
            except ProtocolError as error:
                yield Fail(error)
                continue
            yield from self.take(message)
        yield from self.taken()

    def take(self, message: Message) -> Plan:
        """Handle one message; an error on the way is reported, and the next one taken."""
        try:
            if isinstance(message, Ping):
                yield Send(Pong(server_time=self.now()))
            else:
                yield from self.handle(message)
        except Exception as error:
            yield Fail(error, message.seq if isinstance(message, Sequenced) else None)

    def taken(self) -> Plan:
        """After the frames that arrived together: what `take` kept back, if anything."""
        yield from ()

    def handle(self, message: Message) -> Plan:
        raise NotImplementedError
