"""`/ws/candidate`: a candidate's client. Thin: parse, one unit of work, commit, then ack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

from aiohttp import WSCloseCode, WSMsgType, web
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.db import models
from cbt_server.errors import LoginFailed, NotFound, Unavailable
from cbt_server.exam.state import SessionState, SubmitReason
from cbt_server.protocol import SUBPROTOCOL, ErrorCode, Message, ProtocolError, parse_candidate
from cbt_server.protocol import candidate as msg
from cbt_server.runtime.candidate import changes, views
from cbt_server.runtime.candidate import login as login_svc
from cbt_server.runtime.candidate import submit as submit_svc
from cbt_server.runtime.candidate.rows import exam_of
from cbt_server.runtime.context import Runtime
from cbt_server.runtime.events import Event, Kind
from cbt_server.runtime.facts import candidate_pause, room_pause
from cbt_server.runtime.hub import RESYNC, CandidateConnection
from cbt_server.runtime.keys import HUB, LOGIN_LIMITS, ROOM_STATES, RUNTIME, SWEEPER
from cbt_server.runtime.ws_common import (
    GROUP_LIMIT,
    HELLO_TIMEOUT_SECONDS,
    INBOX_SIZE,
    TRANSIENT,
    check_origin,
    finish_taken,
    make_socket,
    refuse_version,
    to_ws_error,
)

log = logging.getLogger(__name__)

STATE_RETRY_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds between attempts to read a connection's full state when the database fails."""

_PAUSE_KINDS = frozenset(
    {Kind.SESSION_PAUSED, Kind.SESSION_RESUMED, Kind.CANDIDATE_PAUSED, Kind.CANDIDATE_RESUMED}
)
_STATE_KINDS = frozenset(
    {Kind.RESYNC, Kind.SESSION_STARTED, Kind.SESSION_ENDED, Kind.CANDIDATE_ABSENT}
)
_HANDLED = (
    _PAUSE_KINDS
    | _STATE_KINDS
    | {Kind.CANDIDATE_TIME, Kind.CANDIDATE_SUBMITTED, Kind.CANDIDATE_GRADED}
)


async def candidate_socket(request: web.Request) -> web.StreamResponse:
    app = request.app
    check_origin(request, app[RUNTIME].settings)
    if app[HUB].closing:
        raise Unavailable("the server is shutting down; reconnect in a moment")
    ws = make_socket(app[RUNTIME].settings)
    await ws.prepare(request)
    if ws.ws_protocol != SUBPROTOCOL:
        await refuse_version(ws)
        return ws
    handler = CandidateHandler(request, ws)
    try:
        await handler.run()
    finally:
        await handler.cleanup()
    return ws


class CandidateHandler:
    """One candidate socket from upgrade to close."""

    def __init__(self, request: web.Request, ws: web.WebSocketResponse) -> None:
        app = request.app
        self.rt = app[RUNTIME]
        self.hub = app[HUB]
        self.sweeper = app[SWEEPER]
        self.room_states = app[ROOM_STATES]
        self.limits = app[LOGIN_LIMITS]
        self.ws = ws
        self.remote = request.remote or "?"
        self.conn: CandidateConnection | None = None
        self.token: str | None = None
        self.index: changes.PaperIndex = {}
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=INBOX_SIZE)
        self.draining = False

    async def send(self, message: Message) -> None:
        if self.conn is not None:
            await self.conn.send(message)
        elif not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(message.model_dump_json())

    async def run(self) -> None:
        """Read frames in this task (so pings are answered at once, however long a write
        takes) and process them in order in a worker task."""
        worker = asyncio.create_task(self._work(self.inbox), name="cbt-ws-worker")
        try:
            await self._read(self.inbox)
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

    async def _read(self, inbox: asyncio.Queue[str | None]) -> None:
        loop = asyncio.get_running_loop()
        hello_by = loop.time() + HELLO_TIMEOUT_SECONDS
        while not self.ws.closed:
            timeout = None if self.conn is not None else max(0.1, hello_by - loop.time())
            try:
                frame = await self.ws.receive(timeout=timeout)
            except TimeoutError:
                await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no login")
                return
            if self.draining and frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue  # shutting down: not taken, not acknowledged; the client resends
            if frame.type is WSMsgType.TEXT:
                await inbox.put(frame.data)
            elif frame.type is WSMsgType.BINARY:
                await inbox.put(None)
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _work(self, inbox: asyncio.Queue[str | None]) -> None:
        while True:
            frames = [await inbox.get()]
            while len(frames) < GROUP_LIMIT and not inbox.empty():
                frames.append(inbox.get_nowait())
            try:
                await self._process(frames)
            finally:
                for _ in frames:
                    inbox.task_done()

    async def _process(self, frames: list[str | None]) -> None:
        # Answers and flags that arrived together are saved in one transaction (group
        # commit) and acknowledged after it: a client resending a backlog after a
        # reconnect costs one commit, not one per answer.
        group: list[msg.Answer | msg.Flag] = []
        for data in frames:
            message = await self._parse(data)
            if message is None:
                continue
            if self.conn is not None and isinstance(message, msg.Answer | msg.Flag):
                group.append(message)
                continue
            await self._save_group(group)
            group = []
            await self._handle(message)
        await self._save_group(group)

    async def drain(self) -> None:
        """At shutdown: take no more frames; commit and acknowledge those taken."""
        self.draining = True
        await self.inbox.join()

    async def _parse(self, data: str | None) -> Message | None:
        try:
            if data is None:
                raise ProtocolError(ErrorCode.MALFORMED, "binary frames are not used")
            return parse_candidate(data, self.rt.settings.max_ws_message_bytes)
        except ProtocolError as error:
            await self.fail(error)
            return None

    async def _handle(self, message: Message) -> None:
        try:
            await self.dispatch(message)
        except Exception as error:
            await self.fail(error, getattr(message, "seq", None))

    async def fail(self, error: BaseException, ref_seq: int | None = None) -> None:
        outcome = to_ws_error(error, ref_seq)
        await self.send(outcome.error)
        if outcome.close_code is not None:
            await self.ws.close(code=outcome.close_code, message=outcome.error.code.encode())

    async def dispatch(self, message: Message) -> None:
        if isinstance(message, msg.Ping):
            await self.send(msg.Pong(server_time=self.rt.now()))
        elif isinstance(message, msg.Hello):
            await self.hello(message)
        elif self.conn is None:
            raise ProtocolError(ErrorCode.HELLO_REQUIRED, "log in with `hello` first")
        elif isinstance(message, msg.Answer | msg.Flag):
            await self._save_group([message])
        elif isinstance(message, msg.Submit):
            await self.submit(message)
        else:  # pragma: no cover - the parser admits no other type
            raise ProtocolError(ErrorCode.UNEXPECTED, f"unexpected {message!r}")

    # --- messages -----------------------------------------------------------------------

    async def hello(self, hello: msg.Hello) -> None:
        if self.conn is not None:
            raise ProtocolError(ErrorCode.UNEXPECTED, "this connection is logged in already")
        if hello.protocol != SUBPROTOCOL:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED_VERSION,
                f"protocol {hello.protocol!r} is not spoken here; use {SUBPROTOCOL!r}",
            )
        ticket_key = f"ticket:{hello.ticket.strip()}"
        address_key = f"ip:{self.remote}"
        seat_key = f"seat:{hello.seat}" if hello.seat is not None else address_key
        self.limits.check(ticket_key, seat_key, time.monotonic(), address_key)
        conn_id = self.rt.new_connection_id()

        async def log_in(session: AsyncSession, events: list[Event]) -> login_svc.Login:
            return await login_svc.login(
                session,
                self.rt.cipher,
                ticket=hello.ticket,
                id_number=hello.id_number,
                resume_token=hello.resume_token,
                seat=hello.seat,
                conn_id=conn_id,
                now=self.rt.now(),
                events=events,
            )

        try:
            # With the logins of a room arriving together, or reconnecting during the
            # exam, in shared transactions (group commit); a refused login writes nothing.
            login = await self.rt.group.run(log_in)
        except LoginFailed:
            self.limits.failed(ticket_key, seat_key, time.monotonic(), address_key)
            raise
        self.limits.succeeded(ticket_key)
        self.token = login.token
        conn = CandidateConnection(self.ws, login.session_id, login.candidate_id, conn_id)
        # The full state goes first, through the pump, so no event can overtake it.
        conn.queue.put_nowait(RESYNC)
        conn.on_drain = self.drain
        self.conn = conn
        self.hub.add_candidate(conn)
        conn.start_pump(self.on_event)

    async def _save_group(self, group: list[msg.Answer | msg.Flag]) -> None:
        """Save answers and flags in one unit of work; then ack each (or report its error).

        The service checks every change before it writes it, so a change refused with a
        domain error leaves nothing behind and the others of the group still commit.
        """
        if not group:
            return
        conn = self._conn()
        requested: list[changes.Change] = [
            changes.SetAnswer(m.seq, m.item_id, list(m.response))
            if isinstance(m, msg.Answer)
            else changes.SetFlag(m.seq, m.item_id, m.flagged)
            for m in group
        ]

        try:
            request = changes.SaveRequest(
                conn.candidate_id, conn.conn_id, requested, await self._index()
            )
            outcomes = await self.rt.group.run_batched(_save_all, request)
        except Exception as error:  # nothing was committed: each message gets the error
            for message in group:
                await self.fail(error, message.seq)
            return
        for message, refused in zip(group, outcomes, strict=True):
            if refused is None:
                await conn.send(msg.Ack(seq=message.seq))
            else:
                await self.fail(refused, message.seq)

    async def submit(self, submit: msg.Submit) -> None:
        conn = self._conn()
        request = submit_svc.SubmitRequest(conn.candidate_id, conn.conn_id, submit.seq)
        applied = await self.rt.group.run_batched(_submit_all, request)
        await conn.send(msg.Ack(seq=submit.seq))
        if applied:
            await self.sweeper.grade(conn.candidate_id)

    async def _index(self) -> changes.PaperIndex:
        # A paper never changes once stored: read its index once per connection.
        if not self.index:
            async with self.rt.read() as session:
                self.index = await self.rt.papers.index_of(session, self._conn().candidate_id)
        return self.index

    def _conn(self) -> CandidateConnection:
        assert self.conn is not None
        return self.conn

    # --- events -> messages -------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        conn = self._conn()
        if event.kind is Kind.CANDIDATE_TAKEOVER:
            if event.data.get("conn_id") != conn.conn_id:
                await conn.close(
                    WSCloseCode.POLICY_VIOLATION, "logged_in_elsewhere", reconnect=False
                )
            return
        if event.kind not in _HANDLED:
            return
        if event.kind is Kind.SESSION_STARTED:
            # Everyone's paper at once: one read of the room serves every connection.
            state = await self.room_states.state_for(event, conn.candidate_id, self.token)
            if state is not None:
                await conn.send(state)
                return
        if event_tells(event):
            message: Message | None = message_of_event(event)
            if message is not None:
                await conn.send(message)
            return
        if event.kind in _STATE_KINDS:
            message = await self._state(conn)
        else:
            # Build the message inside the read transaction, send it after: a send can
            # wait on a slow link, and holding a pooled connection meanwhile starved the
            # pool (QueuePool timeouts, papers lost).
            async with self.rt.read() as session:
                message = await self._event_message(session, conn, event, self.rt.now())
        if message is not None:
            await conn.send(message)

    async def _state(self, conn: CandidateConnection) -> Message:
        """The full state, read again after a transient database error: it carries the
        resume token of a login already committed, and without it the candidate could
        not come back (`already_logged_in`) until a proctor unlocked them. A room of
        2,000 on PostgreSQL, its pool exhausted for more than 30 s, lost one that way."""
        for pause in (*STATE_RETRY_PAUSES, None):
            try:
                async with self.rt.read() as session:
                    return await views.candidate_state(
                        session,
                        self.rt.papers,
                        conn.candidate_id,
                        self.rt.now(),
                        self.rt.policy,
                        token=self.token,
                    )
            except TRANSIENT as error:
                if pause is None or self.ws.closed:
                    raise
                log.warning("reading candidate %s's state failed (%s); retrying in %s s",
                            conn.candidate_id, error, pause)  # fmt: skip
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _event_message(
        self, session: AsyncSession, conn: CandidateConnection, event: Event, now: datetime
    ) -> Message | None:
        candidate, exam = await _load(session, conn.candidate_id)
        if event.kind in _PAUSE_KINDS:
            if exam.state != SessionState.STARTED:
                return None
            times = await views.timing(session, exam, candidate, now, self.rt.policy)
            if times.scope is not None:
                return msg.PausedMsg(
                    scope=times.scope,
                    reason=await _pause_reason(session, exam.id, candidate.id),
                    remaining_ms=times.remaining_ms,
                    server_time=now,
                )
            return msg.Resumed(remaining_ms=times.remaining_ms, server_time=now)
        if event.kind is Kind.CANDIDATE_TIME:
            times = await views.timing(session, exam, candidate, now, self.rt.policy)
            return msg.Time(
                remaining_ms=times.remaining_ms,
                server_time=now,
                extra_ms=times.extra_ms,
                reason=str(event.data.get("reason", ""))[:500],
            )
        if event.kind is Kind.CANDIDATE_SUBMITTED and candidate.submitted_at is not None:
            return msg.Submitted(
                reason=SubmitReason(candidate.submit_reason or "candidate"),
                submitted_at=candidate.submitted_at,
            )
        if event.kind is Kind.CANDIDATE_GRADED:
            result = await views.result_view(session, exam, candidate)
            if result is not None:
                return msg.Result(**result.model_dump())
        return None

    async def cleanup(self) -> None:
        conn = self.conn
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
            await self.rt.group.run_batched(_disconnect_all, (conn.candidate_id, conn.conn_id))
        except Exception as error:  # the database may be down; the slot frees on restart
            log.warning("could not record disconnect of candidate %s: %s", conn.candidate_id, error)


_BACKGROUND: set[asyncio.Task[None]] = set()
"""Disconnect records still being written after their handler returned."""


def event_tells(event: Event) -> bool:
    """Whether the event carries all its message says (a submission's reason and time, a
    grading's result or that scores are not shown); older events are answered from the
    database."""
    if event.kind is Kind.CANDIDATE_SUBMITTED:
        return "at" in event.data
    if event.kind is Kind.CANDIDATE_GRADED:
        return "shown" in event.data
    return False


def message_of_event(event: Event) -> Message | None:
    """The `submitted` or `result` message from an event that tells it (`event_tells`)."""
    if event.kind is Kind.CANDIDATE_SUBMITTED:
        return msg.Submitted(
            reason=SubmitReason(str(event.data["reason"])),
            submitted_at=datetime.fromisoformat(str(event.data["at"])),
        )
    result = event.data.get("result")
    if not event.data.get("shown") or not isinstance(result, dict):
        return None
    return msg.Result(**msg.ResultView.model_validate(result).model_dump())


async def _save_all(
    rt: Runtime, session: AsyncSession, events: list[Event], requests: list[changes.SaveRequest]
) -> list[changes.SaveOutcome]:
    """The answers and flags of every connection waiting on the group commit, together."""
    return await changes.save_changes_many(
        session, requests, now=rt.now(), policy=rt.policy, events=events
    )


async def _submit_all(
    rt: Runtime,
    session: AsyncSession,
    events: list[Event],
    requests: list[submit_svc.SubmitRequest],
) -> list[submit_svc.SubmitOutcome]:
    """The submits of every connection waiting on the group commit, together."""
    return await submit_svc.submit_many(
        session, requests, now=rt.now(), policy=rt.policy, events=events
    )


async def _disconnect_all(
    rt: Runtime, session: AsyncSession, events: list[Event], connections: list[tuple[int, str]]
) -> list[None]:
    """The connection slots of every closed connection waiting on the group commit."""
    await login_svc.disconnect_many(session, connections, rt.now(), events)
    return [None] * len(connections)


async def _load(
    session: AsyncSession, candidate_id: int
) -> tuple[models.Candidate, models.ExamSession]:
    candidate = await session.get(models.Candidate, candidate_id, populate_existing=True)
    if candidate is None:
        raise NotFound(f"no candidate {candidate_id}")
    return candidate, await exam_of(session, candidate)


async def _pause_reason(session: AsyncSession, session_id: int, candidate_id: int) -> str:
    pause = await room_pause(session, session_id) or await candidate_pause(session, candidate_id)
    return pause.reason[:500] if pause is not None else ""
