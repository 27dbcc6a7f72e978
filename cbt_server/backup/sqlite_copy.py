"""A consistent copy of a live SQLite database, with SQLite's online backup API.

The copy is made in one `backup` step: it reads the whole database under one read
transaction, which in WAL mode never blocks the server's writers (they append to the
log; the server's PASSIVE checkpoints simply stop short of the snapshot until the copy
ends). Small page steps, tried first, restart from the beginning whenever another
connection writes between two steps (SQLite's documented behaviour), so under an exam's
steady answers they could copy for ever; one step cannot. The step runs in a thread and
releases the GIL, so the event loop of a server backing itself up keeps going.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from cbt_server.backup.archive import BackupError


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def count_rows(connection: sqlite3.Connection) -> dict[str, int]:
    """Rows per table (SQLite's own tables aside), by table name."""
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {name: int(connection.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0])
            for name in names}  # fmt: skip


def schema_revision(connection: sqlite3.Connection) -> str:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return ""
    return str(row[0]) if row else ""


def copy_database(source: Path, dest: Path) -> tuple[dict[str, int], str]:
    """Copy the database at `source` to the new file `dest` (a standalone file, not in WAL
    mode); its row counts and schema revision, read from the copy."""
    if not source.is_file():
        raise BackupError(f"{source}: no SQLite database there")
    if dest.exists():
        raise BackupError(f"{dest}: already exists")
    try:
        with closing(sqlite3.connect(source, timeout=30)) as src, closing(
            sqlite3.connect(dest, isolation_level=None)
        ) as copy:  # fmt: skip
            src.backup(copy)  # pages=-1: one step, one snapshot (see the docstring)
            copy.execute("PRAGMA journal_mode=DELETE")
            problems = copy.execute("PRAGMA quick_check").fetchone()[0]
            if problems != "ok":
                raise BackupError(f"{source}: the copy fails SQLite's quick_check: {problems}")
            return count_rows(copy), schema_revision(copy)
    except sqlite3.Error as error:
        dest.unlink(missing_ok=True)
        raise BackupError(f"{source}: cannot copy the database: {error}") from None


def read_counts(database: Path) -> tuple[dict[str, int], str]:
    """Row counts and schema revision of a restored SQLite file."""
    with closing(sqlite3.connect(database)) as connection:
        return count_rows(connection), schema_revision(connection)
