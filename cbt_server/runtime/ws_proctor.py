"""`/ws/proctor`: a room console. Commands are authorized, applied in one unit of work,
committed, then acknowledged; the room's changes stream back as `room` and `seat`. Thin:
the protocol (`proctor_protocol`) says what to do; this carries it out."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web

from cbt_server.auth.principal import Principal
from cbt_server.errors import Unavailable
from cbt_server.protocol import SUBPROTOCOL, Message
from cbt_server.protocol import proctor as msg
from cbt_server.runtime import proctor_service as svc
from cbt_server.runtime.auth import (
    actor_of,
    authorize_proctor_command,
    authorize_watch,
    proctor_principal,
)
from cbt_server.runtime.events import Event
from cbt_server.runtime.hub import RESYNC, ProctorConnection
from cbt_server.runtime.keys import HUB, RUNTIME, SWEEPER
from cbt_server.runtime.proctor_protocol import (
    Command,
    Grade,
    ProctorProtocol,
    Wake,
    Watch,
    coalesces,
    seats_to_update,
)
from cbt_server.runtime.ws_common import check_origin, make_socket, refuse_version
from cbt_server.runtime.ws_connection import SocketHandler
from cbt_server.runtime.ws_core import Plan

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


class ProctorHandler(SocketHandler):
    def __init__(
        self, request: web.Request, ws: web.WebSocketResponse, principal: Principal
    ) -> None:
        app = request.app
        super().__init__(app[RUNTIME], ws)
        self.hub = app[HUB]
        self.sweeper = app[SWEEPER]
        self.principal = principal
        self.protocol = ProctorProtocol(
            max_bytes=self.rt.settings.max_ws_message_bytes, now=self.rt.now
        )
        self.console: ProctorConnection | None = None
        self.paper_sizes: dict[int, int] = {}

    def receive(self, frames: Sequence[str | None]) -> Plan:
        return self.protocol.receive(frames)

    async def perform(self, effect: object) -> object:
        if isinstance(effect, Command):
            await self._command(effect.session_id, effect.command)
        elif isinstance(effect, Grade):
            await self.sweeper.grade(effect.candidate_id)
        elif isinstance(effect, Wake):
            self.sweeper.wake()
        elif isinstance(effect, Watch):
            await self._watch(effect.session_id)
        else:
            return await super().perform(effect)
        return None

    async def _watch(self, session_id: int) -> None:
        async with self.rt.read() as db:
            await authorize_watch(db, self.principal, session_id)
            await svc.room_view(db, session_id, self.rt.now(), self.rt.policy)
        conn = ProctorConnection(self.ws, session_id)
        conn.queue.put_nowait(RESYNC)
        self.conn = self.console = conn
        self.hub.add_proctor(conn)
        conn.start_pump(self.on_event)

    async def _command(self, sid: int, command: Message) -> None:
        command_type: str = command.type  # type: ignore[attr-defined]
        who = actor_of(self.principal)
        rt = self.rt
        async with rt.unit() as work:
            order = svc.Order(work.session, sid, who, rt.now(), work.events, rt.cipher, rt.policy)
            await authorize_proctor_command(work.session, self.principal, sid, command_type)
            await svc.carry_out(order, command)

    async def on_event(self, first: Event) -> None:
        conn = self.console
        assert conn is not None
        batch = [first]
        if coalesces(first):
            await asyncio.sleep(COALESCE_SECONDS)
        while not conn.queue.empty():
            batch.append(conn.queue.get_nowait())
        now = self.rt.now()
        ids = seats_to_update(batch)
        async with self.rt.read() as db:
            if ids is None:
                await conn.send(
                    await svc.room_view(db, conn.session_id, now, self.rt.policy, self.paper_sizes)
                )
                return
            views = await svc.seat_updates(
                db, conn.session_id, ids, now, self.rt.policy, self.paper_sizes
            )
        for view in views:
            await conn.send(msg.Seat(server_time=now, candidate=view))

    async def cleanup(self) -> None:
        if self.console is not None:
            self.hub.remove_proctor(self.console)
            await self.console.stop_pump()
