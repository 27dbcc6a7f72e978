"""`cbt serve --workers 2` on PostgreSQL: two worker processes share one port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.conftest import free_port


@pytest.mark.pg
def test_two_workers_serve_one_port(pg_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CBT_DATA_DIR": str(tmp_path), "CBT_DATABASE_URL": pg_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "cbt_server", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        health = None
        while time.monotonic() < deadline and health is None:
            assert process.poll() is None, "cbt serve exited early"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.load(r)
            except OSError:
                time.sleep(0.3)
        assert health is not None and health["database"] == "postgresql"

        def listening_workers() -> int:
            return sum(
                any(
                    conn.laddr.port == port and conn.status == psutil.CONN_LISTEN
                    for conn in child.net_connections(kind="tcp")
                )
                for child in psutil.Process(process.pid).children(recursive=True)
            )

        # The first worker may answer before the second has bound the port.
        workers = listening_workers()
        while workers < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
            workers = listening_workers()
        assert workers == 2
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert process.returncode == 0
