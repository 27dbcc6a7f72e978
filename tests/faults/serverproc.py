"""The exam server as a real child process (`python -m cbt_server serve`), to kill for real.

Each start appends to one log file; the fixture that owns a `ServerProcess` stops it by
pid at the end of the test, whatever state the test left it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.waiting import wait_until

READY_MARK = "CBT server ready on"
ROOT = Path(__file__).resolve().parents[2]


def server_env(
    *, data_dir: Path, database_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment of a server child: this one without CBT_*, plus the settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CBT_")}
    env.update(
        {
            "CBT_DATA_DIR": str(data_dir),
            "CBT_DATABASE_URL": database_url,
            "CBT_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


class ServerProcess:
    """One server on a fixed port; start, kill (-9), terminate (-15), start again."""

    def __init__(self, env: Mapping[str, str], port: int, log: Path) -> None:
        self.env = dict(env)
        self.port = port
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    async def start(self, limit_s: float = 60) -> None:
        assert not self.running, "the server is already running"
        marks_before = self.log_text().count(READY_MARK)
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts + 1} ---\n".encode())
            out.flush()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cbt_server",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                env=self.env,
                cwd=ROOT,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        proc = self.proc

        def ready() -> bool:
            if proc.returncode is not None:
                raise AssertionError(f"server exited with {proc.returncode}:\n{self.tail()}")
            return self.log_text().count(READY_MARK) > marks_before

        try:
            await wait_until(ready, "the server to be ready", within=limit_s, every=0.05)
        except AssertionError as error:
            if proc.returncode is not None:
                raise
            raise AssertionError(f"{error}:\n{self.tail()}") from None

    async def kill(self) -> int:
        """SIGKILL: the process dies at once, mid-write or not."""
        return await self._signal_and_wait(signal.SIGKILL, 10)

    async def terminate(self, limit_s: float = 30) -> int:
        """SIGTERM: the graceful shutdown; returns the exit code."""
        return await self._signal_and_wait(signal.SIGTERM, limit_s)

    async def _signal_and_wait(self, sig: signal.Signals, limit_s: float) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), limit_s)

    async def close(self) -> None:
        """Stop it whatever its state: TERM, then KILL after a grace."""
        if not self.running:
            return
        try:
            await self.terminate(limit_s=15)
        except TimeoutError:
            await self.kill()

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])
