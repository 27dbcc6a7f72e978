"""The runtime's shared objects, and the unit of work every inbound message runs in."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cbt_server.content_crypto import ContentCipher
from cbt_server.db.types import utcnow
from cbt_server.exam.clock import DowntimePolicy
from cbt_server.runtime.alarms import Alarms
from cbt_server.runtime.events import Event
from cbt_server.runtime.group_commit import GroupCommit
from cbt_server.runtime.notifier import Notifier
from cbt_server.runtime.papers import PaperViews
from cbt_server.settings import Settings


def new_process_id() -> str:
    """A server process's id: its pid and a random suffix (pids are reused)."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass
class Work:
    """One transaction and the events its changes produce."""

    session: AsyncSession
    events: list[Event] = field(default_factory=list)


@dataclass
class Runtime:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    cipher: ContentCipher
    notifier: Notifier
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None
    """Where reads go; on SQLite a second engine whose transactions begin DEFERRED, so
    readers never queue for the write lock (WAL gives them a snapshot)."""
    serialize_writes: bool = False
    """On SQLite (one process), queue this process's writers on an asyncio lock instead of
    letting them poll SQLite's busy handler, which sleeps in steps of milliseconds."""
    now: Callable[[], datetime] = utcnow
    process_id: str = field(default_factory=new_process_id)
    started_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self.papers = PaperViews(self.cipher)
        self.group = GroupCommit(self)
        """Short units of work of many connections, committed together."""
        self._write_lock = asyncio.Lock() if self.serialize_writes else None
        self.alarms = Alarms(lambda: self.now())
        """What the consoles must show now (a full disk), raised and cleared by `unit`."""

    @property
    def policy(self) -> DowntimePolicy:
        return DowntimePolicy(self.settings.downtime_policy)

    def new_connection_id(self) -> str:
        return f"{self.process_id}:{uuid.uuid4().hex[:12]}"

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Work]:
        """One short transaction; its events go out only after it committed.

        A failure to write because the disk is full raises the console's alarm; writes
        going through again clear it (`alarms.Alarms`)."""
        try:
            async with self._writer(), self.sessionmaker.begin() as session:
                work = Work(session)
                yield work
                await self.notifier.stage(session, work.events)
        except Exception as exc:
            self.alarms.write_failed(exc)
            raise
        self.alarms.write_succeeded()
        await self.notifier.after_commit(work.events)

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[None]:
        if self._write_lock is None:
            yield
        else:
            async with self._write_lock:
                yield

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A transaction for reading (nothing is written; it ends when the block does)."""
        async with (self.read_sessionmaker or self.sessionmaker).begin() as session:
            yield session
