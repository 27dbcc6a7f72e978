"""`/ws/candidate`: a candidate's client. Thin: the protocol (`candidate_protocol`) says
what to do; this carries it out: one unit of work, commit, then ack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import ClassVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.keys import LOGIN_LIMITS, ROOM_STATES, RUNTIME
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate import changes, focus, practice, views
from cbt_server.runtime.candidate import login as logins
from cbt_server.runtime.candidate import submit as submits
from cbt_server.runtime.candidate.rows import Holding
from cbt_server.runtime.candidate_protocol import CandidateProtocol
from cbt_server.runtime.context import Runtime
from cbt_server.runtime.events import Event
from cbt_server.runtime.hub import RESYNC, CandidateConnection
from cbt_server.runtime.papers import PaperIndex
from cbt_server.runtime.ws_common import GROUP_LIMIT, check_origin
from cbt_server.runtime.ws_connection import SocketHandler, serve
from cbt_server.runtime.ws_core import Close, LoggedIn, Plan, Read, Save, Source

log = logging.getLogger(__name__)

STATE_RETRY_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds between attempts to read a connection's full state when the database fails."""


async def candidate_socket(request: web.Request) -> web.StreamResponse:
    check_origin(request, request.app[RUNTIME].settings)
    return await serve(request, lambda ws: CandidateHandler(request, ws))


class CandidateHandler(SocketHandler):
    """One candidate socket from upgrade to close."""

    batch_limit: ClassVar[int] = GROUP_LIMIT
    no_hello: ClassVar[bytes] = b"no login"

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        super().__init__(request, ws)
        self.room_states = request.app[ROOM_STATES]
        self.protocol = CandidateProtocol(
            request.app[LOGIN_LIMITS],
            remote=request.remote or "?",
            max_bytes=self.rt.settings.max_ws_message_bytes,
            now=self.rt.now,
            monotonic=time.monotonic,
        )
        self.candidate: CandidateConnection | None = None
        self.index: PaperIndex = {}

    def receive(self, frames: Sequence[str | None]) -> Plan:
        return self.protocol.receive(frames)

    async def on_event(self, event: Event) -> None:
        if self.protocol.hears(event):
            await self.carry_out(self.protocol.event(event))

    async def perform(self, effect: object) -> object:
        if isinstance(effect, Save):
            return await self._save(effect.changes)
        if isinstance(effect, msg.Submit):
            login = self._login()
            request = submits.SubmitRequest(login.candidate_id, login.conn_id, effect.seq)
            return await self.rt.group.run_batched(_submit_all, request)
        if isinstance(effect, msg.Focus):
            login = self._login()
            report = focus.FocusReport(login.candidate_id, login.conn_id, effect)
            return await self.rt.group.run(lambda s, ev: focus.record(s, report, self.rt.now(), ev))
        if isinstance(effect, Read):
            return await self._told(effect.source, effect.event)
        if isinstance(effect, msg.Hello | msg.PracticeHello):
            return await self._log_in(effect)
        if isinstance(effect, msg.Check | msg.Review):
            return await self._practice(effect)
        if isinstance(effect, LoggedIn):
            self._register(effect)
        elif isinstance(effect, Close):
            assert self.candidate is not None
            await self.candidate.close(effect.code, effect.reason, reconnect=effect.reconnect)
        else:
            return await super().perform(effect)
        return None

    def _login(self) -> LoggedIn:
        assert self.protocol.login is not None
        return self.protocol.login

    async def _log_in(self, hello: msg.Hello | msg.PracticeHello) -> LoggedIn:
        conn_id = self.rt.new_connection_id()

        async def log_in(session: AsyncSession, events: list[Event]) -> LoggedIn:
            if isinstance(hello, msg.PracticeHello):
                return await practice.code_login(
                    session,
                    self.rt.cipher,
                    hello,
                    cap=self.rt.settings.practice_max_candidates,
                    conn_id=conn_id,
                    now=self.rt.now(),
                    events=events,
                    address=self.protocol.remote,
                )
            return await logins.login(
                session,
                self.rt.cipher,
                ticket=hello.ticket,
                id_number=hello.id_number,
                resume_token=hello.resume_token,
                seat=hello.seat,
                conn_id=conn_id,
                now=self.rt.now(),
                events=events,
                address=self.protocol.remote,
            )

        # With the logins of a room arriving together, or reconnecting during the exam,
        # in shared transactions (group commit); a refused login writes nothing.
        return await self.rt.group.run(log_in)

    async def _practice(self, asked: msg.Check | msg.Review) -> msg.Checked | msg.Reviewed:
        login = self._login()
        holding = Holding(login.candidate_id, login.conn_id)
        rt = self.rt

        async def work(session: AsyncSession, events: list[Event]) -> msg.Checked | msg.Reviewed:
            if isinstance(asked, msg.Check):
                return await practice.check_item(
                    session, rt.cipher, rt.papers, holding, asked.item_id, rt.now()
                )
            return await practice.review(session, rt.cipher, rt.papers, holding)

        return await rt.group.run(work)

    def _register(self, login: LoggedIn) -> None:
        conn = CandidateConnection(self.ws, login.session_id, login.candidate_id, login.conn_id)
        # The full state goes first, through the pump, so no event can overtake it.
        conn.queue.put_nowait(RESYNC)
        conn.on_drain = self.drain
        self.candidate = conn
        self.logged_in(conn)
        self.hub.add_candidate(conn)
        conn.start_pump(self.on_event)

    async def _save(self, messages: Sequence[msg.Answer | msg.Flag]) -> object:
        login = self._login()
        if not self.index:  # a paper never changes once stored: read it once per connection
            async with self.rt.read() as session:
                self.index = await self.rt.papers.index_of(session, login.candidate_id)
        request = changes.SaveRequest(login.candidate_id, login.conn_id, messages, self.index)
        return await self.rt.group.run_batched(_save_all, request)

    async def _told(self, source: Source, event: Event) -> object:
        login = self._login()
        if source == "room":
            return await self.room_states.state_for(event, login.candidate_id, login.token)
        if source == "state":
            # Read again after a transient database error: the state carries the resume
            # token of a login already committed, and without it the candidate could not
            # come back (`already_logged_in`) until a proctor unlocked them. A room of
            # 2,000 on PostgreSQL, its pool exhausted for more than 30 s, lost one that way.
            return await self.retrying(
                lambda: self._state(login),
                STATE_RETRY_PAUSES,
                f"reading candidate {login.candidate_id}'s state",
            )
        # Build the message inside the read transaction, send it after: a send can wait
        # on a slow link, and holding a pooled connection meanwhile starved the pool
        # (QueuePool timeouts, papers lost).
        async with self.rt.read() as session:
            return await views.event_message(
                session, login.candidate_id, event, self.rt.now(), self.rt.policy
            )

    async def _state(self, login: LoggedIn) -> msg.State:
        async with self.rt.read() as session:
            return await views.candidate_state(
                session,
                self.rt.papers,
                login.candidate_id,
                self.rt.now(),
                self.rt.policy,
                token=login.token,
            )

    async def cleanup(self) -> None:
        conn = self.candidate
        if conn is None:
            return
        self.hub.remove_candidate(conn)
        await conn.stop_pump()
        # Wait a little for it, but never cancel it half-way (see `run`): if the database
        # is slow the write finishes in the background.
        record = asyncio.create_task(self._record_disconnect(conn))
        _BACKGROUND.add(record)
        record.add_done_callback(_BACKGROUND.discard)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await asyncio.shield(record)

    async def _record_disconnect(self, conn: CandidateConnection) -> None:
        try:
            connection = Holding(conn.candidate_id, conn.conn_id)
            await self.rt.group.run_batched(_disconnect_all, connection)
        except Exception as error:  # the database may be down; the slot frees on restart
            log.warning("could not record disconnect of candidate %s: %s", conn.candidate_id, error)


_BACKGROUND: set[asyncio.Task[None]] = set()
"""Disconnect records still being written after their handler returned."""


async def _save_all(
    rt: Runtime, session: AsyncSession, events: list[Event], requests: list[changes.SaveRequest]
) -> list[changes.SaveOutcome]:
    """The answers and flags of every connection waiting on the group commit, together."""
    return await changes.save_changes_many(
        session, requests, now=rt.now(), policy=rt.policy, events=events
    )


async def _submit_all(
    rt: Runtime, session: AsyncSession, events: list[Event], requests: list[submits.SubmitRequest]
) -> list[submits.SubmitOutcome]:
    """The submits of every connection waiting on the group commit, together."""
    return await submits.submit_many(
        session, requests, now=rt.now(), policy=rt.policy, events=events
    )


async def _disconnect_all(
    rt: Runtime, session: AsyncSession, events: list[Event], connections: list[Holding]
) -> list[None]:
    """The connection slots of every closed connection waiting on the group commit."""
    await logins.disconnect_many(session, connections, rt.now(), events)
    return [None] * len(connections)
