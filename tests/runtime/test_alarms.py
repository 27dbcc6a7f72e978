"""The console's alarms: which failures mean a full disk, and when the alarm clears."""

from __future__ import annotations

import errno
import sqlite3
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.exc import DBAPIError, OperationalError

from cbt_server.runtime.alarms import AlarmCode, Alarms, is_disk_full
from cbt_server.runtime.ws_common import to_ws_error

T0 = datetime(2026, 5, 18, 1, 0, tzinfo=UTC)


def wrapped(orig: BaseException) -> OperationalError:
    """As SQLAlchemy raises a driver's error."""
    return OperationalError("INSERT INTO answers ...", {}, orig)


def test_a_full_disk_is_told_from_other_failures() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    assert is_disk_full(wrapped(full))
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    pg = DBAPIError("COMMIT", {}, Exception("disk full"))
    pg.__cause__ = asyncpg.exceptions.DiskFullError("could not extend file")
    assert is_disk_full(pg)
    assert not is_disk_full(wrapped(sqlite3.OperationalError("database is locked")))
    assert not is_disk_full(OSError(errno.ECONNREFUSED, "refused"))
    assert not is_disk_full(ValueError("database or disk is full"))


def test_the_candidate_is_told_the_disk_is_full() -> None:
    outcome = to_ws_error(wrapped(sqlite3.OperationalError("database or disk is full")), 7)
    assert (outcome.error.code, outcome.error.ref_seq) == ("unavailable", 7)
    assert "disk is full" in outcome.error.message and outcome.close_code is None
    other = to_ws_error(wrapped(sqlite3.OperationalError("database is locked")), 8)
    assert other.error.code == "unavailable" and "disk" not in other.error.message


def test_the_alarm_rises_at_once_and_clears_after_quiet_writes() -> None:
    tick = [100.0]
    alarms = Alarms(lambda: T0, clock=lambda: tick[0], clear_after=10.0)
    changes: list[list[AlarmCode]] = []
    alarms.on_change = lambda: changes.append([a.code for a in alarms.active()])
    alarms.write_failed(wrapped(sqlite3.OperationalError("database is locked")))
    alarms.write_succeeded()
    assert changes == [] and alarms.active() == []
    alarms.write_failed(wrapped(sqlite3.OperationalError("database or disk is full")))
    assert changes == [[AlarmCode.DISK_FULL]]
    assert alarms.active()[0].since == T0 and "磁盘已满" in alarms.active()[0].detail
    tick[0] += 6
    alarms.write_succeeded()  # a write that found room in the WAL: not over yet
    alarms.write_failed(wrapped(sqlite3.OperationalError("database or disk is full")))
    tick[0] += 9
    alarms.write_succeeded()
    assert changes == [[AlarmCode.DISK_FULL]]  # raised once, not flickering
    tick[0] += 1
    alarms.write_succeeded()
    assert changes == [[AlarmCode.DISK_FULL], []]
    assert alarms.active() == []
