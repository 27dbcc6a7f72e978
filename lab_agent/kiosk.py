"""``kiosk``: run the exam in the PC's Chromium-family browser, locked down as far as a
browser can be from its command line, and start it again if it is closed during an exam.

What the flags do and what they cannot do is in docs/lab-readiness.md ("The exam locked
down"). The browser is found without running it: the platform and the file system are
parameters, so ``--dry-run --json`` is testable for Windows layouts on Linux and back.
"""

from __future__ import annotations

import json
import ntpath
import os
import posixpath
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit

KINDS = ("chromium", "chrome", "edge")
"""Browsers the kiosk runs, in order of preference when several are installed: all take
the same Chromium switches."""

# Relative to Program Files, Program Files (x86) and Local AppData (as browsers.py).
WINDOWS_LOCATIONS = {
    "chromium": ("Chromium\\Application\\chrome.exe",),
    "chrome": ("Google\\Chrome\\Application\\chrome.exe",),
    "edge": ("Microsoft\\Edge\\Application\\msedge.exe",),
}
WINDOWS_ROOTS = ("ProgramFiles", "ProgramFiles(x86)", "LOCALAPPDATA")
LINUX_COMMANDS = {
    "chromium": ("chromium", "chromium-browser"),
    "chrome": ("google-chrome", "google-chrome-stable"),
    "edge": ("microsoft-edge", "microsoft-edge-stable"),
}
LINUX_PATHS = {
    "chromium": ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium"),
    "chrome": ("/opt/google/chrome/chrome", "/usr/bin/google-chrome"),
    "edge": ("/opt/microsoft/msedge/msedge", "/usr/bin/microsoft-edge"),
}
DEAD_PROXY = "http://127.0.0.1:9"
"""Every request that is not for the exam server goes to this proxy, where nothing
listens (port 9 is "discard"): other sites, typed IP addresses included, do not load."""


class KioskError(Exception):
    """No browser to run, or a bad argument."""


@dataclass
class Platform:
    """What the kiosk needs to know of the PC: which OS, its environment, which files
    exist, what is on the PATH. Injected in tests."""

    system: str  # "win32" or "linux"
    env: Mapping[str, str]
    is_file: Callable[[str], bool]
    which: Callable[[str], str | None]

    @classmethod
    def here(cls) -> Platform:
        import sys

        return cls(sys.platform, os.environ, os.path.isfile, shutil.which)


@dataclass
class Found:
    kind: str
    path: str


def find_browser(platform: Platform, wanted: str | None = None) -> Found:
    """The browser to run: ``wanted`` if given, else the first of KINDS installed."""
    kinds = (wanted,) if wanted else KINDS
    for kind in kinds:
        for path in _candidates(platform, kind):
            if platform.is_file(path):
                return Found(kind, path)
    names = ", ".join(kinds)
    raise KioskError(f"no {names} browser found on this PC: install Chromium, Chrome or Edge")


def _candidates(platform: Platform, kind: str) -> list[str]:
    if platform.system == "win32":
        roots = [platform.env.get(name) for name in WINDOWS_ROOTS]
        return [
            ntpath.join(root, relative)
            for root in roots
            if root
            for relative in WINDOWS_LOCATIONS[kind]
        ]
    found = [platform.which(command) for command in LINUX_COMMANDS[kind]]
    return [p for p in found if p] + list(LINUX_PATHS[kind])


def exam_url(server: str, seat: int | None) -> str:
    """The candidate page of the server; ``?seat=N`` only when given by hand (the page
    otherwise asks the server which seat this PC is)."""
    parts = urlsplit(server.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KioskError(f"--server must be an http:// or https:// URL, not {server!r}")
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"
    return base + ("?" + urlencode({"seat": seat}) if seat is not None else "")


def command_line(found: Found, url: str, profile: str) -> list[str]:
    """The browser's command line: kiosk, a throw-away profile, nothing but the server."""
    server = urlsplit(url)
    host = server.hostname or ""
    port = server.port or (443 if server.scheme == "https" else 80)
    args = [
        found.path,
        "--kiosk",  # full screen, no address bar, tabs, menus; F11 does not leave it
        f"--user-data-dir={profile}",  # fresh profile: no history, extensions, passwords
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-sync",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-default-apps",
        "--disable-translate",
        "--disable-features=Translate,MediaRouter,AutofillServerCommunication",
        "--disable-print-preview",  # no preview window (the page blocks printing itself)
        "--disable-session-crashed-bubble",
        "--noerrdialogs",
        "--overscroll-history-navigation=0",  # no swipe back out of the exam
        "--disable-pinch",
        f"--proxy-server={DEAD_PROXY}",
        # Only the exam server goes direct. "<-loopback>" takes back Chromium's implicit
        # direct route to the PC's own localhost services; it must come first (rules
        # after it add back, before it it would also take the server's rule away).
        f"--proxy-bypass-list=<-loopback>;{host}:{port}",
        "--password-store=basic",
    ]
    if found.kind == "edge":
        args.append("--edge-kiosk-type=fullscreen")
    args.append(url)
    return args


def policy(url: str) -> dict[str, Any]:
    """The managed browser policy that closes what flags cannot (install it once per PC:
    docs/lab-readiness.md says where)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return {
        "URLBlocklist": ["*"],
        "URLAllowlist": [origin],
        "PrintingEnabled": False,
        "DownloadRestrictions": 3,
        "DeveloperToolsAvailability": 2,
        "IncognitoModeAvailability": 1,
        "ExtensionInstallBlocklist": ["*"],
        "BrowserAddPersonEnabled": False,
        "BrowserGuestModeEnabled": False,
        "PasswordManagerEnabled": False,
        "TaskManagerEndProcessEnabled": False,
    }


def plan(
    server: str, platform: Platform, *, browser: str | None, seat: int | None, profile: str
) -> dict[str, Any]:
    """What ``kiosk`` would run (``--dry-run --json`` prints it)."""
    found = find_browser(platform, browser)
    url = exam_url(server, seat)
    return {
        "browser": found.kind,
        "path": found.path,
        "url": url,
        "profile": profile,
        "command": command_line(found, url, profile),
        "policy": policy(url),
    }


def dry_run(
    server: str,
    platform: Platform,
    browser: str | None,
    seat: int | None,
    as_json: bool,
    out: TextIO,
) -> int:
    join = ntpath.join if platform.system == "win32" else posixpath.join
    temp = (
        platform.env.get("TEMP")
        or platform.env.get("TMPDIR")
        or ("C:\\Windows\\Temp" if platform.system == "win32" else "/tmp")
    )
    profile = join(temp, "cbt-kiosk-XXXXXX")
    data = plan(server, platform, browser=browser, seat=seat, profile=profile)
    if as_json:
        out.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    else:
        quote = _quote_windows if platform.system == "win32" else shlex.quote
        out.write(" ".join(quote(a) for a in data["command"]) + "\n")
    return 0


WINDOWS_SPECIAL = frozenset(' <>;&|^()"')
"""Characters cmd or PowerShell would read as syntax (the proxy bypass list's
``<-loopback>;``): an argument holding one is printed in double quotes."""


def _quote_windows(arg: str) -> str:
    return f'"{arg}"' if WINDOWS_SPECIAL.intersection(arg) else arg


def run(
    server: str,
    platform: Platform,
    *,
    browser: str | None,
    seat: int | None,
    exam_open: Callable[[], bool],
    err: TextIO,
    spawn: Callable[[Sequence[str]], int] = lambda argv: subprocess.call(list(argv)),
    pause: Callable[[float], None] = time.sleep,
    max_starts: int | None = None,
) -> int:
    """Run the browser until it is closed while no exam is open in this PC's room; start
    it again (after a second) when it is closed during one. The profile is removed at
    the end. Returns the exit code."""
    profile = tempfile.mkdtemp(prefix="cbt-kiosk-")
    try:
        found = find_browser(platform, browser)
        argv = command_line(found, exam_url(server, seat), profile)
        starts = 0
        while True:
            starts += 1
            err.write(f"starting {found.kind}: {found.path}\n")
            code = spawn(argv)
            if max_starts is not None and starts >= max_starts:
                return 0
            if not exam_open():
                err.write(f"browser closed (exit {code}) with no exam open: done\n")
                return 0
            err.write(f"browser closed (exit {code}) during an exam: starting it again\n")
            pause(1.0)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
