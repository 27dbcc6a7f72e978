"""`cbt-server serve` as a process: it raises its open-file limit at start and reports it
in /healthz (issue 18: 1,001 idle sockets used up a soft limit of 1024)."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import free_port
from tests.waiting import wait_until_sync


@contextmanager
def serving(
    tmp_path: Path, *args: str, soft_files: int | None = None, scheme: str = "http"
) -> Iterator[str]:
    """`python -m cbt_server serve` on a free port (SQLite in `tmp_path`): its base URL."""
    port = free_port()
    env = {**os.environ, "CBT_DATA_DIR": str(tmp_path / "data"), "CBT_DATABASE_URL": ""}

    def lower_limit() -> None:
        if soft_files is not None:
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft_files, hard))

    process = subprocess.Popen(
        [sys.executable, "-m", "cbt_server", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lower_limit,
    )
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode(errors="replace")


def healthz(base: str, **urlopen: Any) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=2, **urlopen) as response:
            return dict(json.load(response))
    except OSError:
        return None


def test_serve_raises_its_open_file_limit(tmp_path: Path) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with serving(tmp_path, soft_files=256) as base:
        health = wait_until_sync(lambda: healthz(base), "the server to answer", within=90)
    assert health is not None
    expected = None if hard == resource.RLIM_INFINITY else hard
    assert hard == 256 or health["open_files_limit"] == expected != 256
    assert isinstance(health["open_files"], int) and 0 < health["open_files"] < 256
    assert health["websockets"] == 0 and health["websockets_not_logged_in"] == 0
