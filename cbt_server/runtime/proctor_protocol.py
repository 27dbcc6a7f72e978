"""The proctor side of `cbt.v1` without I/O: frames and events in, effects out.

A console says `hello` with the session it watches, then gives commands; each is carried
out in one unit of work and acknowledged after it commits. `ws_proctor` carries out its
effects (see `ws_core`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from cbt_server.protocol import ErrorCode, Message, ProtocolError, parse_proctor
from cbt_server.protocol import candidate as cmsg
from cbt_server.protocol import proctor as msg
from cbt_server.protocol.base import Sequenced
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.ws_core import Grade, Plan, Protocol, Send, require_protocol


class ProctorProtocol(Protocol):
    """One console connection's protocol state, from the first frame to the close."""

    def __init__(self, *, max_bytes: int, now: Callable[[], datetime]) -> None:
        super().__init__(parse_proctor, max_bytes=max_bytes, now=now)
        self.session_id: int | None = None
        """The session watched, once `hello` is through."""

    def handle(self, message: Message) -> Plan:
        if isinstance(message, msg.ProctorHello):
            if self.session_id is not None:
                raise ProtocolError(ErrorCode.UNEXPECTED, "this console watches a session already")
            require_protocol(message.protocol)
            yield message  # watch the session, if the console may
            self.session_id = message.session_id
        elif self.session_id is None:
            raise ProtocolError(ErrorCode.HELLO_REQUIRED, "say `hello` with the session id first")
        elif isinstance(message, Sequenced):  # a command (the parser admits nothing else)
            yield message  # carried out in one unit of work in the session watched
            yield Send(cmsg.Ack(seq=message.seq))
            # The command may have finished a candidate or moved a deadline.
            submitted = message.candidate_id if isinstance(message, msg.ForceSubmit) else None
            yield Grade(submitted, wake=True)  # (the sweeper grades those an end submitted)


def seats_to_update(batch: Sequence[Event]) -> list[int] | None:
    """The candidates whose seats a batch of events changed, in order; None if the whole
    room is to be sent again (an event of the session itself, or a resync)."""
    if any(event.candidate_id is None for event in batch):
        return None
    return list(dict.fromkeys(e.candidate_id for e in batch if e.candidate_id))


def coalesces(first: Event) -> bool:
    """Whether to wait for more events before updating the console: seat updates are
    gathered a moment, so a busy room costs one read per candidate per window."""
    return first.kind is not Kind.RESYNC and first.candidate_id is not None
