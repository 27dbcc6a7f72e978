"""What both WebSocket protocols share, without I/O: the effects a protocol asks its
connection to carry out, and the steps every connection takes alike.

A protocol (`candidate_protocol`, `proctor_protocol`) is plain Python: frames and events
go in, and it yields effects, a generator (`Plan`) the connection drives: it carries out
each effect (send a message, run a unit of work, ...) and sends its result back in, or
throws in the error it raised. So the protocol is tested by driving a plan by hand, with
no socket and no database (as the `websockets` library keeps its protocol core apart
from its I/O); `ws_connection` is the one driver.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

from cbt_server.protocol import SUBPROTOCOL, ErrorCode, Message, ProtocolError


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


Plan = Generator[object, object, None]
"""Effects out, each effect's result (or error) back in."""

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
