"""The data folder holds candidates' names and ID-card numbers (the SQLite file) and the
site's keys: the server makes it readable by its own account only, as it does the backup
files (docs/operations.md), whatever the umask."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from cbt_server.cli import main
from cbt_server.durable import private_dir

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_each_missing_folder_is_private_and_an_existing_one_untouched(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir(mode=0o755)
    os.chmod(tmp_path / "shared", 0o755)
    private_dir(tmp_path / "shared" / "srv" / "var")
    assert mode(tmp_path / "shared") == 0o755
    assert mode(tmp_path / "shared" / "srv") == 0o700
    assert mode(tmp_path / "shared" / "srv" / "var") == 0o700
    private_dir(tmp_path / "shared" / "srv" / "var")  # exists: nothing happens


@pytest.mark.parametrize("command", [["db", "upgrade"], ["demo", "--no-serve"]])
def test_a_new_data_folder_is_private(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    data = tmp_path / "var"
    old = os.umask(0o022)
    try:
        assert main(["--data-dir", str(data), *command]) == 0, capsys.readouterr().err
    finally:
        os.umask(old)
    assert mode(data) == 0o700
    if (data / "keys").exists():
        assert mode(data / "keys") == 0o700
