"""`--backup-every` of the room load test: the server's settings, and the figures read
back from the backup files (no room is run here)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cbt_server.settings import load_settings
from loadtests.backups import backup_env, backup_figures


def test_the_settings_turn_automatic_backups_on(tmp_path: Path) -> None:
    settings = load_settings(backup_env(tmp_path, 3.0))
    assert settings.backup_dir == str(tmp_path / "backups")
    assert settings.backup_every_minutes * 60 == 3.0
    assert (tmp_path / "backup-passphrase").read_text().strip()


def test_figures_from_names_and_times(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    began = datetime(2026, 12, 6, 10, 0, 0, 250000, tzinfo=UTC)
    for n, took in enumerate((0.5, 1.5)):
        start = began.timestamp() + 10 * n
        path = folder / f"cbt-backup-{datetime.fromtimestamp(start, UTC):%Y%m%dT%H%M%S.%f}Z.tar"
        path.write_bytes(b"x" * (100 + n))
        os.utime(path, (start + took, start + took))
    (folder / "notes.txt").write_text("not a backup")
    records: list[dict[str, Any]] = [
        {"kind": "proctor"},
        {
            "kind": "candidate",
            "answers": [
                {"at": began.timestamp() + 0.1, "ack_ms": 1500.0},  # sent during the 1st
                {"at": began.timestamp() + 10.2, "ack_ms": 700.0},  # sent during the 2nd
                {"at": began.timestamp() - 0.1, "ack_ms": 20.0},  # sent before it began
                {"at": began.timestamp() + 3.0, "ack_ms": 10.0},
                {"at": began.timestamp() + 4.0, "ack_ms": 30.0},
                {"at": began.timestamp() + 5.0, "ack_ms": None},  # never acknowledged
            ],
        },
    ]
    figures = backup_figures(tmp_path, records)
    assert figures["count"] == 2
    assert figures["seconds"] == {"p50": 1.0, "max": 1.5}
    assert figures["bytes_max"] == 101
    assert figures["ack_ms"]["during_backup"]["n"] == 2
    assert figures["ack_ms"]["during_backup"]["p50"] == 1100.0
    assert figures["ack_ms"]["outside"]["n"] == 3
    assert figures["ack_ms"]["outside"]["p99"] is not None
    assert figures["ack_ms"]["outside"]["p99"] <= 30.0
    assert backup_figures(tmp_path / "elsewhere", records) == {"count": 0}
