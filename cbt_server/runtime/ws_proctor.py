"""`/ws/proctor`: a room console. Commands are authorized, applied in one unit of work,
committed, then acknowledged; the room's changes stream back as `room` and `seat`."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from cbt_server.auth.principal import Principal
from cbt_server.errors import Unavailable
from cbt_server.protocol import SUBPROTOCOL, ErrorCode, Message, ProtocolError, parse_proctor
from cbt_server.protocol import candidate as cmsg
from cbt_server.protocol import proctor as msg
from cbt_server.runtime import proctor_service as svc
from cbt_server.runtime.auth import (
    actor_of,
    authorize_proctor_command,
    authorize_watch,
    proctor_principal,
)
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.hub import RESYNC, ProctorConnection
from cbt_server.runtime.keys import HUB, RUNTIME, SWEEPER
from cbt_server.runtime.ws_common import (
    HELLO_TIMEOUT_SECONDS,
    INBOX_SIZE,
    check_origin,
    finish_taken,
    make_socket,
    refuse_version,
    to_ws_error,
)

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.2
"""Seat updates for one console are gathered this long, so a busy room costs one read per
candidate per window rather than one per answer."""


async def proctor_socket(request: web.Request) -> web.StreamResponse:
    app = request.app
    check_origin(request, app[RUNTIME].settings)
    principal = await proctor_principal(request)
    if app[HUB].closing:
        raise Unavailable("the server is shutting down; reconnect in a moment")
    ws = make_socket(app[RUNTIME].settings)
    await ws.prepare(request)
    if ws.ws_protocol != SUBPROTOCOL:
        await refuse_version(ws)
        return ws
    handler = ProctorHandler(request, ws, principal)
    try:
        await handler.run()
    finally:
        await handler.cleanup()
    return ws


class ProctorHandler:
    def __init__(
        self, request: web.Request, ws: web.WebSocketResponse, principal: Principal
    ) -> None:
        app = request.app
        self.rt = app[RUNTIME]
        self.hub = app[HUB]
        self.sweeper = app[SWEEPER]
        self.ws = ws
        self.principal = principal
        self.conn: ProctorConnection | None = None
        self.paper_sizes: dict[int, int] = {}

    async def send(self, message: Message) -> None:
        if self.conn is not None:
            await self.conn.send(message)
        elif not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(message.model_dump_json())

    async def run(self) -> None:
        """Read frames in this task (so pings are answered at once, however long a write
        takes) and process them in order in a worker task."""
        inbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=INBOX_SIZE)
        worker = asyncio.create_task(self._work(inbox), name="cbt-ws-worker")
        try:
            await self._read(inbox)
            await finish_taken(inbox, worker)  # commands already taken are carried out
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _read(self, inbox: asyncio.Queue[str | None]) -> None:
        loop = asyncio.get_running_loop()
        hello_by = loop.time() + HELLO_TIMEOUT_SECONDS
        while not self.ws.closed:
            timeout = None if self.conn is not None else max(0.1, hello_by - loop.time())
            try:
                frame = await self.ws.receive(timeout=timeout)
            except TimeoutError:
                await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no hello")
                return
            if frame.type is WSMsgType.TEXT:
                await inbox.put(frame.data)
            elif frame.type is WSMsgType.BINARY:
                await inbox.put(None)
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _work(self, inbox: asyncio.Queue[str | None]) -> None:
        while True:
            data = await inbox.get()
            try:
                if data is None:
                    error = ProtocolError(ErrorCode.MALFORMED, "binary frames are not used")
                    await self.fail(error)
                else:
                    await self.on_text(data)
            finally:
                inbox.task_done()

    async def on_text(self, data: str) -> None:
        try:
            message = parse_proctor(data, self.rt.settings.max_ws_message_bytes)
        except ProtocolError as error:
            await self.fail(error)
            return
        ref_seq = getattr(message, "seq", None)
        try:
            await self.dispatch(message)
        except Exception as error:
            await self.fail(error, ref_seq)

    async def fail(self, error: BaseException, ref_seq: int | None = None) -> None:
        outcome = to_ws_error(error, ref_seq)
        await self.send(outcome.error)
        if outcome.close_code is not None:
            await self.ws.close(code=outcome.close_code, message=outcome.error.code.encode())

    async def dispatch(self, message: Message) -> None:
        if isinstance(message, cmsg.Ping):
            await self.send(cmsg.Pong(server_time=self.rt.now()))
        elif isinstance(message, msg.ProctorHello):
            await self.hello(message)
        elif self.conn is None:
            raise ProtocolError(ErrorCode.HELLO_REQUIRED, "say `hello` with the session id first")
        else:
            await self.command(message)

    async def hello(self, hello: msg.ProctorHello) -> None:
        if self.conn is not None:
            raise ProtocolError(ErrorCode.UNEXPECTED, "this console watches a session already")
        if hello.protocol != SUBPROTOCOL:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_VERSION,
                f"protocol {hello.protocol!r} is not spoken here; use {SUBPROTOCOL!r}",
            )
        async with self.rt.read() as db:
            await authorize_watch(db, self.principal, hello.session_id)
            await svc.room_view(db, hello.session_id, self.rt.now(), self.rt.policy)
        conn = ProctorConnection(self.ws, hello.session_id)
        conn.queue.put_nowait(RESYNC)
        self.conn = conn
        self.hub.add_proctor(conn)
        conn.start_pump(self.on_event)

    async def command(self, command: Message) -> None:
        conn = self.conn
        assert conn is not None
        seq: int = command.seq  # type: ignore[attr-defined]
        command_type: str = command.type  # type: ignore[attr-defined]
        who = actor_of(self.principal)
        submitted: int | None = None
        async with self.rt.unit() as work:
            db, sid, now, events = work.session, conn.session_id, self.rt.now(), work.events
            await authorize_proctor_command(db, self.principal, sid, command_type)
            if isinstance(command, msg.OpenCheckin):
                await svc.open_checkin(db, sid, who, now, events)
            elif isinstance(command, msg.Start):
                await svc.start(db, self.rt.cipher, sid, who, now, events)
            elif isinstance(command, msg.Pause):
                await svc.pause(db, sid, command.candidate_id, command.reason, who, now, events)
            elif isinstance(command, msg.Resume):
                await svc.resume(db, sid, command.candidate_id, command.reason, who, now, events)
            elif isinstance(command, msg.ExtraTime):
                await svc.extra_time(
                    db,
                    sid,
                    command.candidate_id,
                    command.seconds,
                    command.reason,
                    who,
                    now,
                    self.rt.policy,
                    events,
                )
            elif isinstance(command, msg.Unlock):
                await svc.unlock(db, sid, command.candidate_id, command.reason, who, now, events)
            elif isinstance(command, msg.ForceSubmit):
                await svc.force_submit(
                    db, sid, command.candidate_id, command.reason, who, now, events
                )
                submitted = command.candidate_id
            elif isinstance(command, msg.MarkAbsent):
                await svc.mark_absent(
                    db, sid, command.candidate_id, command.reason, who, now, events
                )
            elif isinstance(command, msg.Note):
                await svc.note(db, sid, command.text, who, now, events)
            else:  # pragma: no cover - the parser admits no other type
                raise ProtocolError(ErrorCode.UNEXPECTED, f"unexpected {command_type}")
        await conn.send(cmsg.Ack(seq=seq))
        if submitted is not None:
            await self.sweeper.grade(submitted)
        self.sweeper.wake()

    async def on_event(self, first: Event) -> None:
        conn = self.conn
        assert conn is not None
        batch = [first]
        if first.kind is not Kind.RESYNC and first.candidate_id is not None:
            await asyncio.sleep(COALESCE_SECONDS)
        while not conn.queue.empty():
            batch.append(conn.queue.get_nowait())
        now = self.rt.now()
        async with self.rt.read() as db:
            if any(event.candidate_id is None for event in batch):
                await conn.send(
                    await svc.room_view(db, conn.session_id, now, self.rt.policy, self.paper_sizes)
                )
                return
            ids = list(dict.fromkeys(e.candidate_id for e in batch if e.candidate_id))
            views = await svc.seat_updates(
                db, conn.session_id, ids, now, self.rt.policy, self.paper_sizes
            )
        for view in views:
            await conn.send(msg.Seat(server_time=now, candidate=view))

    async def cleanup(self) -> None:
        if self.conn is not None:
            self.hub.remove_proctor(self.conn)
            await self.conn.stop_pump()
