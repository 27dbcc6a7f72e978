"""The per-site JSON-lines files: results kept, and results refused with the reason.

`<out>/<site>.jsonl` holds one verified result per line exactly as the site sent it
(compact JSON, UTF-8). `<out>/<site>.rejected.jsonl` holds `{"ticket", "reason",
"result"}` for each result that failed verification, as evidence.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cbt_server.centre.state import StateError


def results_path(out_dir: Path, site: str) -> Path:
    return out_dir / f"{site}.jsonl"


def rejected_path(out_dir: Path, site: str) -> Path:
    return out_dir / f"{site}.rejected.jsonl"


def json_line(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def cut_back(path: Path, durable: int) -> int:
    """Cut `path` back to the `durable` bytes the state counts; return how many were cut.

    Bytes past that length were appended by a pull that stopped before saving its cursor:
    the next pull fetches those results again. A file shorter than the state says has
    lost results the cursor has moved past: that needs a person, so StateError.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = 0
    if size < durable:
        raise StateError(
            f"{path} has {size} bytes but the state counts {durable}: results the cursor "
            "has passed are missing; restore the file, or delete the state file to pull "
            "everything again"
        )
    if size > durable:
        with open(path, "r+b") as handle:
            handle.truncate(durable)
            handle.flush()
            os.fsync(handle.fileno())
    return size - durable


def append_durably(path: Path, lines: Iterable[bytes]) -> int:
    """Append the lines, flush and fsync; return the file's new length."""
    with open(path, "ab") as handle:
        for line in lines:
            handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
        return handle.tell()


@contextmanager
def site_lock(out_dir: Path, site: str) -> Iterator[None]:
    """Hold an exclusive lock on the site's files; StateError if another pull holds it.

    flock on POSIX, msvcrt's byte lock on Windows (a city centre may run Windows): both
    are imported here, not at module level, so the CLI starts on either system.
    """
    lock_path = out_dir / f"{site}.lock"
    with open(lock_path, "a+b") as handle:
        try:
            _lock(handle.fileno())
        except OSError:
            raise StateError(
                f"another pull of site {site!r} is running (lock {lock_path})"
            ) from None
        try:
            yield
        finally:
            _unlock(handle.fileno())


if sys.platform == "win32":

    def _lock(fd: int) -> None:
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:

    def _lock(fd: int) -> None:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
