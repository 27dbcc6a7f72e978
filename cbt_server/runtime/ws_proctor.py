"""`/ws/proctor`: a room console. Commands are authorized, applied in one unit of work,
committed, then acknowledged; the room's changes stream back as `room` and `seat`. Thin:
the protocol (`proctor_protocol`) says what to do; this carries it out."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from aiohttp import web

from cbt_server.auth.principal import Principal
from cbt_server.keys import RUNTIME
from cbt_server.protocol import proctor as msg
from cbt_server.protocol.base import Sequenced
from cbt_server.runtime import console_view
from cbt_server.runtime import proctor_service as svc
from cbt_server.runtime.alarms import Alarm
from cbt_server.runtime.auth import (
    actor_of,
    authorize_proctor_command,
    authorize_watch,
    proctor_principal,
)
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.hub import RESYNC, ProctorConnection
from cbt_server.runtime.proctor_protocol import ProctorProtocol, coalesces, seats_to_update
from cbt_server.runtime.ws_common import check_origin
from cbt_server.runtime.ws_connection import SocketHandler, serve
from cbt_server.runtime.ws_core import Plan

COALESCE_SECONDS = 0.2
"""Seat updates for one console are gathered this long, so a busy room costs one read per
candidate per window rather than one per answer."""


async def proctor_socket(request: web.Request) -> web.StreamResponse:
    check_origin(request, request.app[RUNTIME].settings)
    principal = await proctor_principal(request)
    return await serve(request, lambda ws: ProctorHandler(request, ws, principal))


class ProctorHandler(SocketHandler):
    def __init__(
        self, request: web.Request, ws: web.WebSocketResponse, principal: Principal
    ) -> None:
        super().__init__(request, ws)
        self.principal = principal
        self.protocol = ProctorProtocol(
            max_bytes=self.rt.settings.max_ws_message_bytes, now=self.rt.now
        )
        self.console: ProctorConnection | None = None
        self.paper_sizes: dict[int, int] = {}

    def receive(self, frames: Sequence[str | None]) -> Plan:
        return self.protocol.receive(frames)

    async def perform(self, effect: object) -> object:
        if isinstance(effect, msg.ProctorHello):
            await self._watch(effect.session_id)
        elif isinstance(effect, msg.ProctorCommand):
            assert self.protocol.session_id is not None
            await self._command(self.protocol.session_id, effect)
        else:
            return await super().perform(effect)
        return None

    async def _watch(self, session_id: int) -> None:
        async with self.rt.read() as db:
            await authorize_watch(db, self.principal, session_id)
            await console_view.room_view(db, session_id, self.rt.now(), self.rt.policy)
        conn = ProctorConnection(self.ws, session_id)
        conn.queue.put_nowait(RESYNC)
        self.console = conn
        self.logged_in(conn)
        self.hub.add_proctor(conn)
        conn.start_pump(self.on_event)

    async def _command(self, sid: int, command: Sequenced) -> None:
        command_type = command.type
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
                    await console_view.room_view(
                        db, conn.session_id, now, self.rt.policy, self.paper_sizes
                    )
                )
                alarms = self.rt.alarms.active()
                if alarms or any(event.kind is Kind.ALARMS for event in batch):
                    await conn.send(alarms_message(alarms, now))
                return
            views = await console_view.seat_updates(
                db, conn.session_id, ids, now, self.rt.policy, self.paper_sizes
            )
        for view in views:
            await conn.send(msg.Seat(server_time=now, candidate=view))

    async def cleanup(self) -> None:
        if self.console is not None:
            self.hub.remove_proctor(self.console)
            await self.console.stop_pump()


def alarms_message(alarms: Sequence[Alarm], now: datetime) -> msg.Alarms:
    return msg.Alarms(
        server_time=now,
        alarms=[msg.AlarmView(code=a.code.value, since=a.since, detail=a.detail) for a in alarms],
    )
