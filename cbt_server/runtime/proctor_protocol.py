"""The proctor side of `cbt.v1` without I/O: frames and events in, effects out.

A console says `hello` with the session it watches, then gives commands; each is carried
out in one unit of work and acknowledged after it commits. `ws_proctor` carries out its
effects (see `ws_core`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cbt_server.protocol import ErrorCode, Message, ProtocolError, parse_proctor
from cbt_server.protocol import candidate as cmsg
from cbt_server.protocol import proctor as msg
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.ws_core import Fail, Plan, Send, parse_frame, require_protocol


@dataclass(frozen=True, slots=True)
class Watch:
    """Check the console may watch this session and that it exists; then take its events,
    the room's full view first."""

    session_id: int


@dataclass(frozen=True, slots=True)
class Command:
    """Authorize and carry out this command in one unit of work on the watched session."""

    session_id: int
    command: Message


@dataclass(frozen=True, slots=True)
class Grade:
    """Grade this candidate's submitted paper."""

    candidate_id: int


@dataclass(frozen=True, slots=True)
class Wake:
    """Have the deadline sweeper look again (a command may have moved a deadline)."""


class ProctorProtocol:
    """One console connection's protocol state, from the first frame to the close."""

    def __init__(self, *, max_bytes: int, now: Callable[[], datetime]) -> None:
        self.max_bytes = max_bytes
        self.now = now
        self.session_id: int | None = None
        """The session watched, once `hello` is through."""

    def receive(self, frames: Sequence[str | None]) -> Plan:
        """The plan for frames that arrived together, handled one by one in order."""
        for data in frames:
            try:
                message = parse_frame(data, parse_proctor, self.max_bytes)
            except ProtocolError as error:
                yield Fail(error)
                continue
            try:
                yield from self._handle(message)
            except Exception as error:
                yield Fail(error, getattr(message, "seq", None))

    def _handle(self, message: Message) -> Plan:
        if isinstance(message, cmsg.Ping):
            yield Send(cmsg.Pong(server_time=self.now()))
        elif isinstance(message, msg.ProctorHello):
            if self.session_id is not None:
                raise ProtocolError(ErrorCode.UNEXPECTED, "this console watches a session already")
            require_protocol(message.protocol)
            yield Watch(message.session_id)
            self.session_id = message.session_id
        elif self.session_id is None:
            raise ProtocolError(ErrorCode.HELLO_REQUIRED, "say `hello` with the session id first")
        else:
            yield Command(self.session_id, message)
            yield Send(cmsg.Ack(seq=message.seq))  # type: ignore[attr-defined]
            if isinstance(message, msg.ForceSubmit):
                yield Grade(message.candidate_id)
            yield Wake()


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
