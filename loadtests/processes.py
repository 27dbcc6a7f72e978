"""Child processes of a load-test run: started, watched and stopped by pid.

Every child gets its own session (process group) so a Ctrl-C aimed at the runner does
not reach it half-way; the runner stops each one itself, TERM first, KILL after a grace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

READY_MARK = "CBT server ready on"


class ProcessError(RuntimeError):
    """A child did not start or ended badly; the message holds the end of its log."""


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class Child:
    """One child process with its output in a log file."""

    def __init__(
        self, name: str, args: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path
    ) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for_output(self, mark: str, timeout: float) -> None:
        """Wait until `mark` appears in the log; ProcessError if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if mark in self.log.read_text(encoding="utf-8", errors="replace"):
                return
            if self.proc.poll() is not None:
                raise ProcessError(
                    f"{self.name} exited with {self.proc.returncode}:\n{tail(self.log)}"
                )
            time.sleep(0.1)
        raise ProcessError(f"{self.name} not ready after {timeout:.0f} s:\n{tail(self.log)}")

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def stop(self, grace_s: float = 10.0, first: signal.Signals = signal.SIGTERM) -> int | None:
        """`first` (TERM), then KILL after `grace_s`; returns the exit code (None if
        unknown)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, first)
            try:
                self.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5)
        return self.proc.returncode
