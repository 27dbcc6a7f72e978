"""This process's live connections, and the delivery of change events to them.

Each connection has a queue of events and one pump task that turns them into messages
(reading the current facts in a short transaction), so a connection's messages go out in
order and a slow client never holds up another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import WSCloseCode, web

from cbt_server.protocol import Message, dump
from cbt_server.protocol.candidate import Closing
from cbt_server.runtime.events import CLOCK_KINDS, Event, Kind

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
"""At shutdown, how long connections may take to finish the messages they have taken."""

RESYNC = Event(Kind.RESYNC, 0)
"""Queued to every connection when events may have been missed: send the full state."""
ALARMS = Event(Kind.ALARMS, 0)
"""Queued to every console when this process's alarms changed: send the room and them."""


def _retrieve(sending: asyncio.Future[None]) -> None:
    if not sending.cancelled():
        sending.exception()


async def send_whole(ws: web.WebSocketResponse, text: str) -> None:
    """Send one text frame; if the caller is cancelled meanwhile, the send still runs to
    its end in a task whose outcome is taken. (aiohttp compresses frames over 16 KiB in
    a shielded task of its own: cancelled under it, as a console's pump is when its
    socket closes, that task's "Cannot write to closing transport" was logged as never
    retrieved. A room of 160 seats is such a frame.)"""
    sending = asyncio.ensure_future(ws.send_str(text))
    sending.add_done_callback(_retrieve)
    await asyncio.shield(sending)


class Connection:
    """One WebSocket, its send lock and its event queue."""

    def __init__(self, ws: web.WebSocketResponse, session_id: int) -> None:
        self.ws = ws
        self.session_id = session_id
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self._send_lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        self.on_drain: Callable[[], Awaitable[None]] | None = None
        """Set by the handler: stop taking frames, finish those taken (commit and ack)."""

    async def send(self, message: Message) -> bool:
        """Send one message; False if the socket is closed (the client will resync)."""
        if self.ws.closed:
            return False
        async with self._send_lock:
            try:
                await send_whole(self.ws, dump(message))
            except (ConnectionError, RuntimeError):
                return False
        return True

    async def drain(self) -> None:
        if self.on_drain is not None:
            await self.on_drain()

    async def close(self, code: int, reason: str, *, reconnect: bool) -> None:
        await self.send(Closing(reason=reason, reconnect=reconnect))
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=code, message=reason.encode()[:120])

    def start_pump(self, handle: Callable[[Event], Awaitable[None]]) -> None:
        async def pump() -> None:
            while True:
                event = await self.queue.get()
                try:
                    await handle(event)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The client resyncs on reconnect; one failed update must not end the pump.
                    log.exception("sending %s to a connection failed", event.kind)

        self._pump = asyncio.create_task(pump(), name="cbt-connection-pump")

    async def stop_pump(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None


class CandidateConnection(Connection):
    def __init__(
        self, ws: web.WebSocketResponse, session_id: int, candidate_id: int, conn_id: str
    ) -> None:
        super().__init__(ws, session_id)
        self.candidate_id = candidate_id
        self.conn_id = conn_id


class ProctorConnection(Connection):
    pass


C = TypeVar("C", bound=Connection)


def _discard(registry: dict[int, set[C]], key: int, conn: C) -> None:
    """Take `conn` out of `registry[key]`, and the key out when it has none left."""
    conns = registry.get(key)
    if conns is not None:
        conns.discard(conn)
        if not conns:
            del registry[key]


class Hub:
    """Routes events to the connections of this process that they concern."""

    def __init__(
        self,
        on_clock_event: Callable[[], None] = lambda: None,
        on_finish_event: Callable[[], None] = lambda: None,
    ) -> None:
        self._candidates: dict[int, set[CandidateConnection]] = defaultdict(set)
        self._proctors: dict[int, set[ProctorConnection]] = defaultdict(set)
        self._on_clock_event = on_clock_event
        """Called when a deadline may have moved."""
        self._on_finish_event = on_finish_event
        """Called when someone finished (submitted, absent)."""
        self.closing = False

    # registration -------------------------------------------------------------------

    def add_candidate(self, conn: CandidateConnection) -> None:
        self._candidates[conn.candidate_id].add(conn)

    def remove_candidate(self, conn: CandidateConnection) -> None:
        _discard(self._candidates, conn.candidate_id, conn)

    def add_proctor(self, conn: ProctorConnection) -> None:
        self._proctors[conn.session_id].add(conn)

    def remove_proctor(self, conn: ProctorConnection) -> None:
        _discard(self._proctors, conn.session_id, conn)

    def connections(self) -> list[Connection]:
        found: list[Connection] = [c for cs in self._candidates.values() for c in cs]
        found.extend(c for cs in self._proctors.values() for c in cs)
        return found

    def candidate_ids(self, session_id: int) -> list[int]:
        """The candidates of one session with a connection to this process."""
        return [
            candidate_id
            for candidate_id, conns in self._candidates.items()
            if any(conn.session_id == session_id for conn in conns)
        ]

    def candidate_count(self) -> int:
        return sum(len(cs) for cs in self._candidates.values())

    # delivery -----------------------------------------------------------------------

    def deliver(self, event: Event) -> None:
        """Queue `event` for every connection of this process it concerns."""
        if event.candidate_id is not None:
            for conn in self._candidates.get(event.candidate_id, ()):
                conn.queue.put_nowait(event)
        else:
            for conns in self._candidates.values():
                for conn in conns:
                    if conn.session_id == event.session_id:
                        conn.queue.put_nowait(event)
        for proctor in self._proctors.get(event.session_id, ()):
            proctor.queue.put_nowait(event)
        if event.kind in CLOCK_KINDS:
            self._on_clock_event()
        elif event.kind in (Kind.CANDIDATE_SUBMITTED, Kind.CANDIDATE_ABSENT):
            self._on_finish_event()

    def resync(self) -> None:
        """Events may have been lost (the listener reconnected): everyone gets full state."""
        for conn in self.connections():
            conn.queue.put_nowait(RESYNC)
        self._on_clock_event()

    def alarms_changed(self) -> None:
        """This process's alarms changed: every console of this process is told."""
        for conns in self._proctors.values():
            for conn in conns:
                conn.queue.put_nowait(ALARMS)

    async def close_all(self, reason: str = "server shutting down") -> None:
        """Finish the work in hand, tell every client to reconnect (to another process or
        after a restart), close.

        Each connection first stops taking frames and commits and acknowledges those it
        has taken (within DRAIN_SECONDS), so that nothing committed goes unacknowledged;
        frames arriving after that are left for the client to resend.
        """
        self.closing = True
        conns = self.connections()
        try:
            async with asyncio.timeout(DRAIN_SECONDS):
                await asyncio.gather(*(c.drain() for c in conns), return_exceptions=True)
        except TimeoutError:
            log.warning("connections not drained within %s s; closing anyway", DRAIN_SECONDS)
        await asyncio.gather(
            *(c.close(WSCloseCode.GOING_AWAY, reason, reconnect=True) for c in conns),
            return_exceptions=True,
        )
