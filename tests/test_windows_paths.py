"""What Linux CI can check of the Windows lab server (issue 19): the CLI without POSIX-only
modules, the server without signal handlers, `--workers` refused without SO_REUSEPORT."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import click
import pytest
from aiohttp.web_runner import GracefulExit

from cbt_server import durable
from cbt_server.cli.main import cli, main
from cbt_server.runtime.workers import stop_on_ctrl_c
from cbt_server.settings import Settings, SettingsError
from tests.conftest import free_port
from tests.waiting import wait_until_sync
from tests.windows_like import windows_like_env


def _command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += _command_paths(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


_HELP_EVERY_COMMAND = """
import json, sys
from cbt_server.cli.main import main
for path in json.loads(sys.argv[1]):
    code = main([*path, "--help"])
    print(json.dumps([path, code]), flush=True)
assert "fcntl" not in sys.modules and "resource" not in sys.modules
"""


def test_every_command_shows_its_help_without_fcntl_resource_or_uvloop(tmp_path: Path) -> None:
    paths = _command_paths(cli)
    assert ("centre", "pull") in paths and ("serve",) in paths and ("demo",) in paths
    done = subprocess.run(
        [sys.executable, "-c", _HELP_EVERY_COMMAND, json.dumps(paths)],
        env=windows_like_env(tmp_path / "site"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    codes = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("[")]
    assert [tuple(path) for path, _ in codes] == paths
    assert all(code == 0 for _, code in codes), codes


def test_the_blocker_catches_an_unguarded_import(tmp_path: Path) -> None:
    """The check above would notice a module that imports `resource` or `fcntl` outright."""
    for name in ("fcntl", "resource", "uvloop"):
        done = subprocess.run(
            [sys.executable, "-c", f"import {name}"],
            env=windows_like_env(tmp_path / "site"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1 and "ModuleNotFoundError" in done.stderr, done.stderr


def test_demo_serves_and_stops_on_ctrl_c_without_posix_modules_or_signal_handlers(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = windows_like_env(tmp_path / "site", signals=False)
    env["CBT_DATA_DIR"] = str(tmp_path / "var")
    process = subprocess.Popen(
        [sys.executable, "-m", "cbt_server", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(6)]
        url = f"http://127.0.0.1:{port}/healthz"

        def health() -> dict[str, object] | None:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return dict(json.load(response))
            except OSError:
                return None

        status = wait_until_sync(health, "/healthz", within=60, every=0.1)
        process.send_signal(signal.SIGINT)  # what Ctrl+C is on Windows: KeyboardInterrupt
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert status["event_loop"] == "asyncio"
    assert process.returncode == 0, err
    text = "".join(lines)
    assert f"CBT server ready on http://127.0.0.1:{port}" in text
    assert f"http://127.0.0.1:{port}/?seat=N" in text
    assert f"http://127.0.0.1:{port}/staff/login" in text
    assert str((tmp_path / "var" / "demo-credentials.json").resolve()) in text
    assert "Ctrl+C" in text
    assert "Traceback" not in err


def test_several_workers_are_refused_where_there_is_no_so_reuseport(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pg = "postgresql+asyncpg://u@localhost/db"
    assert Settings(database_url=pg, workers=2).workers == 2
    monkeypatch.delattr(socket, "SO_REUSEPORT", raising=False)
    with pytest.raises(SettingsError, match="SO_REUSEPORT.*Windows"):
        Settings(database_url=pg, workers=2)
    assert Settings(database_url=pg).workers == 1
    code = main(["--database-url", pg, "serve", "--workers", "2"])
    assert code == 1
    assert "SO_REUSEPORT" in capsys.readouterr().err


def test_no_directory_fsync_on_windows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Windows cannot open a folder as a file; the key files are still written there."""

    def no_folders(*_args: object) -> int:
        raise PermissionError("a folder cannot be opened on Windows")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(durable.os, "open", no_folders)
    durable.fsync_dir(tmp_path)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(PermissionError):
        durable.fsync_dir(tmp_path)


def test_ctrl_c_asks_the_loop_for_a_graceful_exit_not_a_keyboard_interrupt() -> None:
    """On a loop without signal handlers, SIGINT ends run_app's loop with aiohttp's
    GracefulExit (a clean shutdown), never a KeyboardInterrupt inside some task."""
    loop = asyncio.new_event_loop()
    previous = stop_on_ctrl_c(loop)
    try:
        handler = signal.getsignal(signal.SIGINT)
        assert callable(handler) and handler is not signal.default_int_handler
        handler(signal.SIGINT, None)
        with pytest.raises(GracefulExit):
            loop.run_forever()
    finally:
        signal.signal(signal.SIGINT, previous)
        loop.close()
    assert signal.getsignal(signal.SIGINT) is previous
