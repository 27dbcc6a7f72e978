"""``kiosk``: the browser found on Windows and Linux layouts (platform and file system
injected), the exact command line ``--dry-run --json`` prints, and the restart loop."""

from __future__ import annotations

import argparse
import io
import json
import os
import shlex
from collections.abc import Sequence

import pytest

from lab_agent import cli, kiosk
from lab_agent.kiosk import KioskError, Platform

WIN_ENV = {
    "ProgramFiles": "C:\\Program Files",
    "ProgramFiles(x86)": "C:\\Program Files (x86)",
    "LOCALAPPDATA": "C:\\Users\\exam\\AppData\\Local",
    "TEMP": "C:\\Users\\exam\\AppData\\Local\\Temp",
}
WINDOWS = {
    "chromium": "C:\\Users\\exam\\AppData\\Local\\Chromium\\Application\\chrome.exe",
    "chrome": "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "edge": "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
}
LINUX = {
    "chromium": "/usr/bin/chromium",
    "chrome": "/opt/google/chrome/chrome",
    "edge": "/opt/microsoft/msedge/msedge",
}


def windows(*files: str) -> Platform:
    return Platform("win32", WIN_ENV, set(files).__contains__, lambda name: None)


def linux(*files: str, path: dict[str, str] | None = None) -> Platform:
    on_path = path or {}
    return Platform(
        "linux", {"TMPDIR": "/tmp"}, set(files).__contains__, lambda name: on_path.get(name)
    )


def dry_run(platform: Platform, *args: str) -> dict[str, object]:
    parsed = cli.build_parser().parse_args(
        ["kiosk", "--server", "http://10.0.0.2:8080", "--dry-run", "--json", *args]
    )
    out, err = io.StringIO(), io.StringIO()
    assert cli.run_kiosk(parsed, out, err, platform) == 0, err.getvalue()
    plan: dict[str, object] = json.loads(out.getvalue())
    return plan


@pytest.mark.parametrize("kind", ["chromium", "chrome", "edge"])
def test_windows_layout(kind: str) -> None:
    plan = dry_run(windows(WINDOWS[kind]))
    assert plan["browser"] == kind
    assert plan["path"] == WINDOWS[kind]
    command = plan["command"]
    assert isinstance(command, list)
    assert command[0] == WINDOWS[kind]
    assert command[-1] == "http://10.0.0.2:8080/"
    assert "--user-data-dir=C:\\Users\\exam\\AppData\\Local\\Temp\\cbt-kiosk-XXXXXX" in command
    assert ("--edge-kiosk-type=fullscreen" in command) == (kind == "edge")


@pytest.mark.parametrize("kind", ["chromium", "chrome", "edge"])
def test_linux_layout(kind: str) -> None:
    plan = dry_run(linux(LINUX[kind]))
    assert (plan["browser"], plan["path"]) == (kind, LINUX[kind])
    command = plan["command"]
    assert isinstance(command, list)
    assert command[0] == LINUX[kind]
    assert "--user-data-dir=/tmp/cbt-kiosk-XXXXXX" in command


def test_the_command_line_locks_the_browser_down() -> None:
    plan = dry_run(linux(LINUX["chrome"]), "--seat", "7")
    command = plan["command"]
    assert isinstance(command, list)
    for flag in (
        "--kiosk",
        "--no-first-run",
        "--disable-extensions",
        "--disable-print-preview",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>;10.0.0.2:8080",
    ):
        assert flag in command
    assert "--kiosk-printing" not in command  # it would print silently, not block printing
    assert command[-1] == "http://10.0.0.2:8080/?seat=7"
    policy = plan["policy"]
    assert isinstance(policy, dict)
    assert policy["URLAllowlist"] == ["http://10.0.0.2:8080"]
    assert policy["URLBlocklist"] == ["*"]
    assert policy["PrintingEnabled"] is False and policy["DownloadRestrictions"] == 3


def test_preference_and_path_lookup() -> None:
    everything = windows(*WINDOWS.values())
    assert kiosk.find_browser(everything).kind == "chromium"
    assert kiosk.find_browser(everything, "edge").path == WINDOWS["edge"]
    on_path = linux(
        "/home/exam/bin/google-chrome", path={"google-chrome": "/home/exam/bin/google-chrome"}
    )
    assert kiosk.find_browser(on_path) == kiosk.Found("chrome", "/home/exam/bin/google-chrome")
    # The plain text form quotes paths with spaces, so it can be pasted into a shell.
    parsed = cli.build_parser().parse_args(
        ["kiosk", "--server", "http://10.0.0.2", "--dry-run", "--browser", "chrome"]
    )
    out = io.StringIO()
    assert cli.run_kiosk(parsed, out, io.StringIO(), windows(WINDOWS["chrome"])) == 0
    assert out.getvalue().startswith(f'"{WINDOWS["chrome"]}" --kiosk ')


def test_no_browser_and_bad_server_are_clean_errors() -> None:
    with pytest.raises(KioskError, match="Chromium, Chrome or Edge"):
        kiosk.find_browser(linux())
    for argv, platform, words in (
        (["--server", "http://10.0.0.2"], linux(), "no chromium, chrome, edge browser"),
        (["--server", "ftp://x"], linux(LINUX["chromium"]), "http:// or https://"),
    ):
        parsed = cli.build_parser().parse_args(["kiosk", *argv, "--dry-run"])
        err = io.StringIO()
        assert cli.run_kiosk(parsed, io.StringIO(), err, platform) == cli.EXIT_NOT_MEASURED
        assert words in err.getvalue() and "Traceback" not in err.getvalue()


def test_restarted_while_an_exam_is_open_and_the_profile_removed() -> None:
    started: list[Sequence[str]] = []
    profiles: list[str] = []

    def spawn(argv: Sequence[str]) -> int:
        started.append(argv)
        profile = next(a for a in argv if a.startswith("--user-data-dir="))
        profiles.append(profile.split("=", 1)[1])
        assert os.path.isdir(profiles[-1])
        return 0

    answers = iter([True, True, False])  # closed twice during the exam, then after it
    err = io.StringIO()
    code = kiosk.run(
        "http://10.0.0.2:8080",
        linux(LINUX["chromium"]),
        browser=None,
        seat=None,
        exam_open=lambda: next(answers),
        err=err,
        spawn=spawn,
        pause=lambda seconds: None,
    )
    assert code == 0
    assert len(started) == 3 and len(set(profiles)) == 1  # one profile for the exam
    assert not os.path.exists(profiles[0])  # thrown away at the end
    assert err.getvalue().count("during an exam: starting it again") == 2


def test_help_lists_the_new_commands() -> None:
    text = cli.build_parser().format_help()
    assert "register" in text and "kiosk" in text
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["register", "--server", "http://x", "--seat", "0"])
    assert isinstance(
        cli.build_parser().parse_args(["kiosk", "--server", "http://x"]), argparse.Namespace
    )


@pytest.mark.parametrize("system", ["linux", "win32"])
def test_plain_dry_run_can_be_pasted_into_a_shell(system: str) -> None:
    """The proxy bypass list holds `<`, `>` and `;`: printed bare, a shell reads them as
    redirections and a command separator. The plain form quotes them."""
    platform = linux(LINUX["chromium"]) if system == "linux" else windows(WINDOWS["chrome"])
    parsed = cli.build_parser().parse_args(
        ["kiosk", "--server", "http://10.0.0.2:8080", "--dry-run"]
    )
    out = io.StringIO()
    assert cli.run_kiosk(parsed, out, io.StringIO(), platform) == 0
    command = dry_run(platform)["command"]
    assert isinstance(command, list)
    if system == "linux":
        assert shlex.split(out.getvalue()) == command
    else:
        assert '"--proxy-bypass-list=<-loopback>;10.0.0.2:8080"' in out.getvalue()
