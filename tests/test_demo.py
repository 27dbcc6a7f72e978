"""`cbt-server demo` (what `make demo` runs): serves /healthz and writes every credential."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from cbt_server.idcard import is_valid
from tests.conftest import free_port
from tests.waiting import wait_until_sync


def _wait_healthy(
    url: str, process: subprocess.Popen[bytes], timeout: float = 90
) -> dict[str, object]:

    def health() -> dict[str, object] | None:
        assert process.poll() is None, "demo server exited early"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return dict(json.load(resp))
        except OSError:
            return None

    return wait_until_sync(health, f"{url} to be healthy", within=timeout, every=0.1)


def test_demo_serves_and_writes_credentials(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CBT_DATA_DIR": str(tmp_path / "var"), "CBT_PORT": str(port)}
    env.pop("CBT_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "cbt_server", "demo"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        health = _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert health["status"] == "ok" and health["database"] == "sqlite"
    # `auto` runs the server on uvloop wherever it is installed (a dependency on Linux).
    assert health["event_loop"] == "uvloop"

    creds = json.loads((tmp_path / "var" / "demo-credentials.json").read_text(encoding="utf-8"))
    assert creds["base_url"] == f"http://127.0.0.1:{port}"
    assert len(creds["candidates"]) == 30
    assert sorted(c["seat"] for c in creds["candidates"]) == list(range(1, 31))
    assert len({c["ticket"] for c in creds["candidates"]}) == 30
    assert all(is_valid(c["id_number"]) and c["name"] for c in creds["candidates"])
    assert creds["proctor"]["username"] and len(creds["proctor"]["password"]) >= 10
    assert creds["centre_token"].startswith("cbt_")
    assert (tmp_path / "var" / "cbt.sqlite3").exists()


def test_the_ready_message_says_where_to_go_and_how_to_stop(tmp_path: Path) -> None:
    from cbt_server.runtime.workers import ready_message
    from cbt_server.settings import Settings

    creds = tmp_path / "demo-credentials.json"
    text = ready_message(Settings(host="0.0.0.0", port=9000), "asyncio", creds)
    lines = text.splitlines()
    assert lines[0].startswith("CBT server ready on http://127.0.0.1:9000")
    assert "http://127.0.0.1:9000/?seat=N" in text
    assert "http://127.0.0.1:9000/staff/login" in text
    assert "LAN address" in text and str(creds) in text
    assert lines[-1].startswith("Press Ctrl+C to stop")
    served = ready_message(Settings(host="10.0.0.5", port=8080), "uvloop")
    assert "http://10.0.0.5:8080/staff/login" in served
    assert "credentials" not in served and "LAN address" not in served


def test_credentials_name_a_url_a_browser_can_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make demo HOST=0.0.0.0`: the credentials file's base_url is the one the ready
    message prints (127.0.0.1), not http://0.0.0.0:…, which Windows cannot open."""
    from cbt_server.cli import main

    code = main(
        [
            "--data-dir",
            str(tmp_path / "var"),
            "demo",
            "--no-serve",
            "--host",
            "0.0.0.0",
            "--port",
            "9000",
        ]
    )
    assert code == 0, capsys.readouterr().err
    creds = json.loads((tmp_path / "var" / "demo-credentials.json").read_text(encoding="utf-8"))
    assert creds["base_url"] == "http://127.0.0.1:9000"
