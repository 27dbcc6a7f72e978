"""PostgreSQL backups with the server's own tools: `pg_dump` and `pg_restore`.

The dump is of one snapshot that this module also counts rows in: a REPEATABLE READ
transaction exports its snapshot, `pg_dump --snapshot` dumps exactly that, and the
transaction stays open until the dump ends. Writers are never blocked (MVCC). The tools
are found on PATH; `pg_dump` must be at least the server's major version and
`pg_restore` at least the version of the `pg_dump` that made the file.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from cbt_server.backup.archive import BackupError

_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")


def tool(name: str) -> tuple[str, int]:
    """The path and major version of a PostgreSQL client tool on PATH."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} not found on PATH: install the PostgreSQL client tools of the "
            "server's version (Debian: postgresql-client-15; Windows: the bin folder of "
            "the PostgreSQL installation)"
        )
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    found = _VERSION.search(out.stdout)
    if found is None:
        raise BackupError(f"{path} --version did not say its version: {out.stdout.strip()!r}")
    return path, int(found.group(1))


def _parts(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and an environment carrying it (not on the
    command line, where any user could read it)."""
    parsed = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), env


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _connect(url: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(_dsn(url))
    except (OSError, asyncpg.PostgresError) as error:
        raise BackupError(f"PostgreSQL unreachable: {error}") from None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def count_rows(conn: asyncpg.Connection) -> dict[str, int]:
    names = [
        row[0]
        for row in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
    ]
    return {name: int(await conn.fetchval(f"SELECT count(*) FROM {_quote(name)}"))
            for name in names}  # fmt: skip


async def _revision(conn: asyncpg.Connection) -> str:
    try:
        return str(await conn.fetchval("SELECT version_num FROM alembic_version") or "")
    except asyncpg.UndefinedTableError:
        return ""


def _lowered() -> list[str]:
    """`nice -n 10` where there is one: the dump's own CPU gives way to the exam server's
    (on Windows the dump runs at normal priority)."""
    nice = shutil.which("nice") if os.name == "posix" else None
    return [nice, "-n", "10"] if nice else []


async def dump(url: str, dest: Path) -> tuple[dict[str, int], str, dict[str, int]]:
    """`pg_dump --format=custom` of one snapshot into `dest`; that snapshot's row counts,
    schema revision, and the server's and pg_dump's major versions."""
    pg_dump, dump_major = tool("pg_dump")
    target, env = _parts(url)
    conn = await _connect(url)
    try:
        server_major = int(await conn.fetchval("SHOW server_version_num")) // 10000
        if dump_major < server_major:
            raise BackupError(
                f"pg_dump {dump_major} cannot dump a PostgreSQL {server_major} server: "
                f"install pg_dump {server_major} or later"
            )
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            counts = await count_rows(conn)
            revision = await _revision(conn)
            process = await asyncio.create_subprocess_exec(
                *_lowered(), pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                f"--snapshot={snapshot}", f"--file={dest}", f"--dbname={target}",
                env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            _, err = await process.communicate()
            if process.returncode != 0:  # the caller's temporary folder holds `dest`
                raise BackupError(f"pg_dump failed: {err.decode(errors='replace').strip()}")
    finally:
        await conn.close()
    return counts, revision, {"server": server_major, "pg_dump": dump_major}


async def relations_in(url: str) -> int:
    """How many tables, sequences, views... the database holds outside the system schemas."""
    conn = await _connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
            )
        )
    finally:
        await conn.close()


def check_restore_tool(made_by_major: int) -> str:
    pg_restore, major = tool("pg_restore")
    if major < made_by_major:
        raise BackupError(
            f"pg_restore {major} cannot read a dump made by pg_dump {made_by_major}: "
            f"install pg_restore {made_by_major} or later"
        )
    return pg_restore


async def restore(url: str, dump_file: Path, pg_restore: str) -> None:
    """Load a dump into the (empty) database in one transaction: all of it or nothing."""
    target, env = _parts(url)
    process = await asyncio.create_subprocess_exec(
        pg_restore, "--no-owner", "--no-privileges", "--single-transaction",
        "--exit-on-error", f"--dbname={target}", str(dump_file),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"pg_restore failed: {err.decode(errors='replace').strip()}")


async def read_counts(url: str) -> tuple[dict[str, int], str]:
    conn = await _connect(url)
    try:
        return await count_rows(conn), await _revision(conn)
    finally:
        await conn.close()
