"""The one driver of a WebSocket connection, for candidates and proctors alike: it reads
frames, hands them in batches to its protocol, carries out the effects the protocol plans
(`ws_core`), and retries reads the database failed. What each connection says and does is
its protocol's (`candidate_protocol`, `proctor_protocol`); this is only the I/O."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import ClassVar, TypeVar

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from cbt_server.errors import Unavailable
from cbt_server.keys import ADMISSION, HUB, RUNTIME, SWEEPER
from cbt_server.protocol import SUBPROTOCOL, Message
from cbt_server.runtime.admission import Slot
from cbt_server.runtime.hub import Connection
from cbt_server.runtime.ws_common import (
    HELLO_TIMEOUT_SECONDS,
    INBOX_SIZE,
    TRANSIENT,
    finish_taken,
    make_socket,
    refuse_version,
    to_ws_error,
)
from cbt_server.runtime.ws_core import Fail, Grade, Plan, Send
from cbt_server.runtime.ws_send import send_text

log = logging.getLogger(__name__)

T = TypeVar("T")


async def serve(
    request: web.Request, handler_for: Callable[[web.WebSocketResponse], SocketHandler]
) -> web.StreamResponse:
    """Upgrade to a WebSocket in `cbt.v1` and run its handler until the socket closes.

    The upgrade is refused (429/503, before it happens) when too many sockets that have
    not logged in are open already, from this address or in all (`admission`)."""
    app = request.app
    if app[HUB].closing:
        raise Unavailable("the server is shutting down; reconnect in a moment")
    admission = app[ADMISSION]
    slot = admission.admit(request.remote or "?")
    admission.open += 1
    try:
        ws = make_socket(app[RUNTIME].settings)
        await ws.prepare(request)
        if ws.ws_protocol != SUBPROTOCOL:
            await refuse_version(ws)
            return ws
        handler = handler_for(ws)
        handler.slot = slot
        try:
            await handler.run()
        finally:
            await handler.cleanup()
        return ws
    finally:
        admission.open -= 1
        slot.release()


class SocketHandler:
    """One socket from upgrade to close: frames in order, effects carried out in order."""

    batch_limit: ClassVar[int] = 1
    """At most this many frames that arrived together are handed to the protocol at once."""
    no_hello: ClassVar[bytes] = b"no hello"
    """The close reason when no `hello` came in time."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        app = request.app
        self.rt = app[RUNTIME]
        self.hub = app[HUB]
        self.sweeper = app[SWEEPER]
        self.ws = ws
        self.conn: Connection | None = None
        """The hub's connection, once the protocol's `hello` is through."""
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=INBOX_SIZE)
        self.draining = False
        self.slot: Slot | None = None
        """This socket's place among those not logged in, released once it logs in."""
        self.login_by = asyncio.get_running_loop().time() + HELLO_TIMEOUT_SECONDS
        """The loop time by which the socket must have logged in: counted from the
        upgrade, whatever pings and pongs pass meanwhile."""
        self._deadline: asyncio.Timeout | None = None

    async def cleanup(self) -> None:
        """After the socket closed: leave the hub (and record what is to be recorded)."""
        raise NotImplementedError

    def receive(self, frames: Sequence[str | None]) -> Plan:
        """The protocol's plan for frames that arrived together (None for a binary one)."""
        raise NotImplementedError

    async def perform(self, effect: object) -> object:
        """Carry out one effect (but `Send` and `Fail`, which `carry_out` does itself);
        its result goes back into the plan."""
        if isinstance(effect, Grade):
            if effect.candidate_id is not None:
                await self.sweeper.grade(effect.candidate_id)
            if effect.wake:
                self.sweeper.wake()
        else:
            raise TypeError(f"{type(self).__name__} cannot carry out {effect!r}")
        return None

    async def carry_out(self, plan: Plan) -> None:
        """Drive a plan to its end: each effect's result, or its error, goes back in."""
        result: object = None
        error: Exception | None = None
        while True:
            try:
                effect = plan.send(result) if error is None else plan.throw(error)
            except StopIteration:
                return
            result, error = None, None
            if isinstance(effect, Send):  # most effects are acks: straight out
                await self.send(effect.message)
                continue
            if isinstance(effect, Fail):
                await self.fail(effect.error, effect.ref_seq)
                continue
            try:
                result = await self.perform(effect)
            except Exception as failed:
                error = failed

    async def send(self, message: Message) -> None:
        if self.conn is not None:
            await self.conn.send(message)
        elif not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await send_text(self.ws, message.model_dump_json())

    async def fail(self, error: BaseException, ref_seq: int | None = None) -> None:
        outcome = to_ws_error(error, ref_seq)
        await self.send(outcome.error)
        if outcome.close_code is not None:
            await self.ws.close(code=outcome.close_code, message=outcome.error.code.encode())

    async def run(self) -> None:
        """Read frames in this task (so pings are answered at once, however long a write
        takes) and process them in order in a worker task."""
        worker = asyncio.create_task(self._work(), name="cbt-ws-worker")
        try:
            await self._read()
            # The socket is done; the frames it delivered are still processed (stored;
            # their acks go nowhere and the client resends, harmlessly).
            await finish_taken(self.inbox, worker)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            while not self.inbox.empty():  # never to be processed: a drain must not wait
                self.inbox.get_nowait()
                self.inbox.task_done()

    async def _read(self) -> None:
        while not self.ws.closed:
            try:
                frame = await self._next_frame()
            except TimeoutError:
                if self.conn is not None:  # logged in just as the deadline passed
                    continue
                await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=self.no_hello)
                return
            if self.draining and frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue  # shutting down: not taken, not acknowledged; the client resends
            if frame.type is WSMsgType.TEXT:
                await self.inbox.put(frame.data)
            elif frame.type is WSMsgType.BINARY:
                await self.inbox.put(None)
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _next_frame(self) -> WSMessage:
        """The next frame; TimeoutError once the login deadline passed without a login.

        Not `receive(timeout=...)`: aiohttp restarts that timeout with every pong, so a
        client answering the server's pings never met it (issue 18)."""
        if self.conn is not None:
            return await self.ws.receive()
        try:
            async with asyncio.timeout_at(self.login_by) as self._deadline:
                return await self.ws.receive()
        finally:
            self._deadline = None

    def logged_in(self, conn: Connection) -> None:
        """The protocol's `hello` is through: no deadline now, and no place among the
        sockets that have not logged in."""
        self.conn = conn
        if self._deadline is not None:  # the read waiting now is not cut off by it
            self._deadline.reschedule(None)
        if self.slot is not None:
            self.slot.release()

    async def _work(self) -> None:
        inbox = self.inbox
        while True:
            frames = [await inbox.get()]
            while len(frames) < self.batch_limit and not inbox.empty():
                frames.append(inbox.get_nowait())
            try:
                await self.carry_out(self.receive(frames))
            finally:
                for _ in frames:
                    inbox.task_done()

    async def drain(self) -> None:
        """At shutdown: take no more frames; commit and acknowledge those taken."""
        self.draining = True
        await self.inbox.join()

    async def retrying(
        self, read: Callable[[], Awaitable[T]], pauses: Sequence[float], what: str
    ) -> T:
        """`read()`, tried again after each pause while the database fails transiently
        (down, slow, out of pooled connections) and the socket is open."""
        for pause in (*pauses, None):
            try:
                return await read()
            except TRANSIENT as error:
                if pause is None or self.ws.closed:
                    raise
                log.warning("%s failed (%s); retrying in %s s", what, error, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover
