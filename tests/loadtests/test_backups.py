"""`--backup-every` of the room load test: the server's settings, and the figures read
back from the backup files (no room is run here)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

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
    assert backup_figures(tmp_path) == {
        "count": 2,
        "seconds": {"p50": 1.0, "max": 1.5},
        "bytes_max": 101,
    }
    assert backup_figures(tmp_path / "elsewhere") == {"count": 0}
