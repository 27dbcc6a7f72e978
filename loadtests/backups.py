"""Automatic backups during a room run (`python -m loadtests.room --backup-every S`): the
server's settings for them, and what they took, read back from the files."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def backup_figures(workdir: Path) -> dict[str, Any]:
    """How many backups were written, how long each took (from the start time in its
    name to its file's last change) and how big they were."""
    seconds: list[float] = []
    sizes: list[int] = []
    for path in sorted((workdir / "backups").glob(f"{_PREFIX}*{_SUFFIX}")):
        stamp = path.name[len(_PREFIX) : -len(_SUFFIX)]
        began = datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC).timestamp()
        stat = path.stat()
        seconds.append(stat.st_mtime - began)
        sizes.append(stat.st_size)
    if not seconds:
        return {"count": 0}
    return {
        "count": len(seconds),
        "seconds": {
            "p50": round(statistics.median(seconds), 3),
            "max": round(max(seconds), 3),
        },
        "bytes_max": max(sizes),
    }
