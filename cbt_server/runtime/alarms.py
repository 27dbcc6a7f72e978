"""Alarms for the room console: conditions of the server that staff must act on now.

One so far: the database's disk is full (SQLite's SQLITE_FULL, PostgreSQL's disk_full,
or ENOSPC from the file system). Every write of the runtime goes through
`Runtime.unit`, which raises the alarm when a write fails for that reason and clears it
once writes have gone through again for `CLEAR_AFTER` seconds without another such
failure (a WAL file with room left lets some writes through on a full disk: the alarm must
not flicker). Consoles are told of every change (`alarms` in the proctor protocol).
Each process keeps its own alarms, from its own writes.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import asyncpg

log = logging.getLogger(__name__)

CLEAR_AFTER = 10.0
"""Seconds of writes going through, with no failure of the same cause, before an alarm
is cleared."""


class AlarmCode(StrEnum):
    DISK_FULL = "disk_full"


@dataclass(frozen=True, slots=True)
class Alarm:
    code: AlarmCode
    since: datetime
    detail: str
    """What the server saw, for the console (Chinese first)."""


DISK_FULL_DETAIL = (
    "服务器磁盘已满，答案无法保存：考生电脑上的答案已保留，腾出空间后自动补存。"
    "请立即清理数据库所在磁盘。"
    " (The server's disk is full: answers cannot be saved. They are kept on the PCs and"
    " saved once space is freed. Free space on the database's disk now.)"
)


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc`, the driver error SQLAlchemy wrapped, and their causes and contexts."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        todo.extend([getattr(current, "orig", None), current.__cause__, current.__context__])
    return seen


def is_disk_full(exc: BaseException) -> bool:
    """Whether a failed write failed because the disk is full."""
    for cause in _causes(exc):
        if isinstance(cause, sqlite3.Error) and (
            getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "database or disk is full" in str(cause)
        ):
            return True
        if isinstance(cause, asyncpg.exceptions.DiskFullError):
            return True
        if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
            return True
    return False


class Alarms:
    """This process's active alarms, and who to tell when they change."""

    def __init__(
        self,
        now: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
        clear_after: float = CLEAR_AFTER,
    ) -> None:
        self._now = now
        self._clock = clock
        self.clear_after = clear_after
        self._active: dict[AlarmCode, Alarm] = {}
        self._last_failure: dict[AlarmCode, float] = {}
        self.on_change: Callable[[], None] = lambda: None

    def active(self) -> list[Alarm]:
        return sorted(self._active.values(), key=lambda alarm: alarm.since)

    def write_failed(self, exc: BaseException) -> None:
        """A unit of work failed: raise the alarm its cause calls for, if any."""
        if not is_disk_full(exc):
            return
        self._last_failure[AlarmCode.DISK_FULL] = self._clock()
        if AlarmCode.DISK_FULL not in self._active:
            self._active[AlarmCode.DISK_FULL] = Alarm(
                AlarmCode.DISK_FULL, self._now(), DISK_FULL_DETAIL
            )
            log.error("ALARM disk full: writes fail (%s)", exc)
            self.on_change()

    def write_succeeded(self) -> None:
        """A unit of work committed: clear alarms whose cause has not been seen lately."""
        if not self._active:
            return
        now = self._clock()
        over = [
            code
            for code in self._active
            if now - self._last_failure.get(code, 0.0) >= self.clear_after
        ]
        for code in over:
            del self._active[code]
            log.warning("alarm %s cleared: writes go through again", code.value)
        if over:
            self.on_change()
