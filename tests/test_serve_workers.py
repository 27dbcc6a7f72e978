"""`cbt-server serve --workers 2` on PostgreSQL: two worker processes share one port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.conftest import free_port
from tests.waiting import wait_until_sync


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

        def healthz() -> dict[str, object] | None:
            assert process.poll() is None, "cbt-server serve exited early"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    return dict(json.load(r))
            except OSError:
                return None

        health = wait_until_sync(healthz, "the server to answer /healthz", within=90, every=0.1)
        assert health["database"] == "postgresql"

        def listening_workers() -> int:
            return sum(
                any(
                    conn.laddr.port == port and conn.status == psutil.CONN_LISTEN
                    for conn in child.net_connections(kind="tcp")
                )
                for child in psutil.Process(process.pid).children(recursive=True)
            )

        # The first worker may answer before the second has bound the port.
        wait_until_sync(lambda: listening_workers() >= 2, "two workers listening", within=90)
        assert listening_workers() == 2
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert process.returncode == 0
