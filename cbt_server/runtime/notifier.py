"""Delivering change events to every server process: in-process, or PostgreSQL LISTEN/NOTIFY.

A unit of work stages its events inside its transaction and hands them over after the
commit. On PostgreSQL, staging runs `pg_notify` in the transaction itself, so listeners in
every process (this one included) hear of a change exactly when it is committed and never
of one that was rolled back. On SQLite there is only one process; events go straight to
it after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from cbt_server.runtime.events import Event
from cbt_server.runtime.tasks import raise_if_cancelling, stop_tasks

log = logging.getLogger(__name__)

CHANNEL = "cbt_events"
_NOTIFY_ALL = text(
    "SELECT pg_notify(:channel, e.payload) FROM unnest(CAST(:payloads AS text[])) AS e(payload)"
)
APPLICATION_PREFIX = "cbt:"
"""The listener connection's application name is this plus the process id: other
processes tell from `pg_stat_activity` which server processes are alive."""
OnEvent = Callable[[Event], None]
OnResync = Callable[[], None]


class Notifier:
    """Base: delivers events to `on_event`; `on_resync` when events may have been missed."""

    def __init__(self) -> None:
        self._on_event: OnEvent = lambda _event: None
        self._on_resync: OnResync = lambda: None

    async def start(self, on_event: OnEvent, on_resync: OnResync) -> None:
        self._on_event = on_event
        self._on_resync = on_resync

    async def stage(self, session: AsyncSession, events: Sequence[Event]) -> None:
        """Called inside the transaction that made the changes."""

    async def after_commit(self, events: Sequence[Event]) -> None:
        """Called after that transaction committed."""

    async def close(self) -> None:
        """Stop listening."""

    def _deliver(self, event: Event) -> None:
        try:
            self._on_event(event)
        except Exception:  # a bad receiver must not stop delivery to the others
            log.exception("event receiver failed on %s", event.kind)


class MemoryNotifier(Notifier):
    """One process (SQLite): events go to this process's receiver after the commit."""

    async def after_commit(self, events: Sequence[Event]) -> None:
        for event in events:
            self._deliver(event)


class PgNotifier(Notifier):
    """Several processes on PostgreSQL: NOTIFY in the transaction, LISTEN on a connection
    of our own that is re-opened (with a resync) whenever it drops."""

    def __init__(self, database_url: str, process_id: str, *, retry_seconds: float = 1.0) -> None:
        super().__init__()
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._application = f"{APPLICATION_PREFIX}{process_id}"[:63]
        self._retry = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._ever_connected = False

    async def start(self, on_event: OnEvent, on_resync: OnResync) -> None:
        await super().start(on_event, on_resync)
        self._task = asyncio.create_task(self._listen_forever(), name="cbt-pg-listener")
        # Wait briefly for the first LISTEN so that changes made right after start-up are
        # heard; if the database is slow to answer, the loop keeps trying in the background.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self._connected.wait()

    @property
    def listening(self) -> bool:
        return self._connected.is_set()

    async def stage(self, session: AsyncSession, events: Sequence[Event]) -> None:
        # One statement for all of a transaction's events: a group commit of 20 answers
        # has 20 `answered` events, and a statement each was 20 round trips inside the
        # transaction that every one of those answers waited for. unnest yields the
        # array in order, so they are announced in the order they happened.
        if not events:
            return
        await session.execute(
            _NOTIFY_ALL, {"channel": CHANNEL, "payloads": [e.to_json() for e in events]}
        )

    async def close(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = Event.from_json(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed notification %r", payload[:200])
            return
        self._deliver(event)

    async def _listen_forever(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=10, server_settings={"application_name": self._application}
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                self._connected.set()
                if self._ever_connected:
                    # Notifications sent while we were away are gone: catch up from the DB.
                    self._on_resync()
                self._ever_connected = True
                while not lost.is_set():
                    try:
                        async with asyncio.timeout(5):
                            await lost.wait()
                    except TimeoutError:
                        # A cheap query notices a half-dead connection sooner than TCP does.
                        async with asyncio.timeout(5):
                            await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as error:
                raise_if_cancelling()
                log.warning("event listener lost the database (%s); retrying", error)
            finally:
                self._connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(2):
                            await conn.close()
            await asyncio.sleep(self._retry)


def make_notifier(database_url: str, process_id: str) -> Notifier:
    """The notifier suited to the database: LISTEN/NOTIFY on PostgreSQL, in-process else."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return PgNotifier(database_url, process_id)
    return MemoryNotifier()
