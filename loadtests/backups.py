"""Automatic backups during a room run (`python -m loadtests.room --backup-every S`): the
server's settings for them, and what they took, read back from the files."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loadtests.stats import summarize

PASSPHRASE = "load test backup passphrase"
_PREFIX, _SUFFIX = "cbt-backup-", "Z.tar"


def backup_env(workdir: Path, every_s: float) -> dict[str, str]:
    """Settings for a backup every `every_s` seconds into `workdir/backups`, all kept."""
    folder = workdir / "backups"
    folder.mkdir(exist_ok=True)
    secret = workdir / "backup-passphrase"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    return {
        "CBT_BACKUP_DIR": str(folder),
        "CBT_BACKUP_EVERY_MINUTES": repr(every_s / 60),
        "CBT_BACKUP_KEEP": "1000000",
        "CBT_BACKUP_PASSPHRASE_FILE": str(secret),
    }


def backup_windows(workdir: Path) -> list[tuple[float, float, int]]:
    """(start, end, bytes) of each backup written: from the start time in its name to its
    file's last change (the rename that completed it)."""
    windows = []
    for path in sorted((workdir / "backups").glob(f"{_PREFIX}*{_SUFFIX}")):
        stamp = path.name[len(_PREFIX) : -len(_SUFFIX)]
        began = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC).timestamp()
        stat = path.stat()
        windows.append((began, stat.st_mtime, stat.st_size))
    return windows


def _sent_during(at: float, windows: list[tuple[float, float, int]]) -> bool:
    # By the time an answer was sent, not by overlap: a slow ack overlaps more of
    # anything, and counting overlaps would call slow acks "during" for being slow.
    return any(start <= at < end for start, end, _ in windows)


def ack_split(
    records: list[dict[str, Any]], windows: list[tuple[float, float, int]]
) -> dict[str, dict[str, Any]]:
    """Ack times of the answers sent while a backup ran, beside all the others of the
    same run: a comparison that the machine's load at the time does not skew."""
    during: list[float] = []
    outside: list[float] = []
    for record in records:
        for answer in record.get("answers", []) if record.get("kind") == "candidate" else []:
            ms, at = answer.get("ack_ms"), answer.get("at")
            if ms is None or at is None:
                continue
            (during if _sent_during(float(at), windows) else outside).append(float(ms))
    points = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
    return {
        "during_backup": {"n": len(during), **summarize(during, points, digits=1)},
        "outside": {"n": len(outside), **summarize(outside, points, digits=1)},
    }


def backup_figures(workdir: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    """How many backups were written, how long they took and how big they were, and the
    ack times during them against the rest (`ack_split`)."""
    windows = backup_windows(workdir)
    if not windows:
        return {"count": 0}
    seconds = [end - start for start, end, _ in windows]
    return {
        "count": len(windows),
        "seconds": {
            "p50": round(statistics.median(seconds), 3),
            "max": round(max(seconds), 3),
        },
        "bytes_max": max(size for _, _, size in windows),
        "ack_ms": ack_split(records, windows),
    }
