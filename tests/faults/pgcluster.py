"""A throwaway PostgreSQL cluster of the test's own, to stop and start for real.

`initdb` refuses to run as root, so as root the cluster belongs to the `postgres` user
(its folder is made with mkdtemp and handed over); otherwise to the current user.
`fsync=off` only skips flushing to the disk: an immediate stop is a crash of the
database server, not of the machine, so what it committed is in the operating system's
cache and comes back with crash recovery.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import tempfile
from pathlib import Path

import asyncpg

from tests.conftest import free_port


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian layout), or one on PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PgCluster:
    """`await create()`, then `url(db)`, `stop()` (immediate), `start()`, `destroy()`."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="cbt-pgfault-"))
        self.data = self.folder / "data"
        self.logfile = self.folder / "postgres.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, user="postgres", group="postgres")
            self.folder.chmod(0o700)
        self.owner = "postgres" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name

    async def _run(self, *args: str, check: bool = True) -> str:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.folder,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
        text = out.decode(errors="replace")
        if check and proc.returncode != 0:
            raise AssertionError(f"{args[0]} failed ({proc.returncode}):\n{text}")
        return text

    async def create(self) -> None:
        await self._run(
            "initdb", "-D", str(self.data), "--auth=trust", "--no-sync", "-U", self.owner,
            "--encoding=UTF8", "--locale=C",
        )  # fmt: skip
        await self.start()

    async def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
            "-c max_connections=200"
        )
        await self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "start"
        )

    async def stop(self) -> None:
        """An immediate stop: every connection dies at once, as in a crash."""
        await self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    async def running(self) -> bool:
        out = await self._run("pg_ctl", "-D", str(self.data), "status", check=False)
        return "server is running" in out

    async def destroy(self) -> None:
        if self.data.exists() and await self.running():
            await self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.owner}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str) -> str:
        """SQLAlchemy URL for the server under test."""
        return f"postgresql+asyncpg://{self.owner}@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)
