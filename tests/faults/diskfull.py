"""A full disk under SQLite, injected: write statements fail as SQLite fails them when
the file system has no room left (SQLITE_FULL, "database or disk is full").

Every INSERT, UPDATE and DELETE fails while `full` is set, except those of the `answers`
table: a candidate's answers are then written (the flush writes them first) before the
update of the candidate's row (its acknowledged number) fails, so a transaction that is
not rolled back whole would leave half-written changes to find.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

WRITES = ("INSERT", "UPDATE", "DELETE")


class DiskFull:
    def __init__(self, engine: AsyncEngine) -> None:
        self.full = False
        self.refused = 0
        self.passed_through = 0
        """Answer writes let through while full (then rolled back with the rest)."""
        event.listen(engine.sync_engine, "before_cursor_execute", self._check)

    def _check(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not self.full:
            return
        words = statement.lstrip().split(None, 2)
        if not words or words[0].upper() not in WRITES:
            return
        table = words[2].split(None, 1)[0] if words[0].upper() == "INSERT" else words[1]
        if table.strip('"') == "answers":
            self.passed_through += 1
            return
        self.refused += 1
        raise sqlite3.OperationalError("database or disk is full")
