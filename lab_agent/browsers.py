"""Which web browsers are installed, and whether one of them can run the exam client.

The exam client is plain ES modules and modern CSS: it needs a Chromium-family
browser (Chrome, Chromium, Edge) of major version 80 or later, or Firefox 78 or
later. 360 and QQ browsers are found and listed, but do not count: they can
switch a page to their old IE engine ("compatibility mode").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MIN_MAJOR = {"chrome": 80, "chromium": 80, "edge": 80, "firefox": 78}
LABELS = {
    "chrome": "Google Chrome",
    "chromium": "Chromium",
    "edge": "Microsoft Edge",
    "firefox": "Firefox",
    "360se": "360 Secure Browser",
    "360chrome": "360 Speed Browser",
    "qqbrowser": "QQ Browser",
}

# Relative to Program Files, Program Files (x86) and the user's Local AppData.
_WINDOWS_LOCATIONS = (
    ("chrome", r"Google\Chrome\Application\chrome.exe"),
    ("edge", r"Microsoft\Edge\Application\msedge.exe"),
    ("chromium", r"Chromium\Application\chrome.exe"),
    ("firefox", r"Mozilla Firefox\firefox.exe"),
    ("360se", r"360\360se6\Application\360se.exe"),
    ("360se", r"360se6\Application\360se.exe"),
    ("360chrome", r"360Chrome\Chrome\Application\360chrome.exe"),
    ("qqbrowser", r"Tencent\QQBrowser\QQBrowser.exe"),
)
_WINDOWS_APP_PATHS = (
    ("chrome", "chrome.exe"),
    ("edge", "msedge.exe"),
    ("firefox", "firefox.exe"),
    ("360se", "360se.exe"),
    ("360chrome", "360chrome.exe"),
    ("qqbrowser", "QQBrowser.exe"),
)
_LINUX_COMMANDS = (
    ("chrome", "google-chrome"),
    ("chrome", "google-chrome-stable"),
    ("chromium", "chromium"),
    ("chromium", "chromium-browser"),
    ("edge", "microsoft-edge"),
    ("edge", "microsoft-edge-stable"),
    ("firefox", "firefox"),
    ("firefox", "firefox-esr"),
)
_VERSION_DIR = re.compile(r"^\d+(\.\d+){3}$")
_TOOL_TIMEOUT = 15.0


@dataclass(frozen=True)
class Browser:
    """One installed browser."""

    name: str
    version: str | None
    path: str

    def as_json(self) -> dict[str, str | None]:
        """The browser as it appears in the report."""
        return {"name": self.name, "version": self.version, "path": self.path}


def find_browsers() -> list[Browser]:
    """Browsers installed on this PC, found the way this OS keeps them."""
    if sys.platform == "win32":
        found = list(_windows_app_paths()) + find_in_roots(_windows_roots())
    else:
        found = [
            Browser(name, command_version(exe), exe) for name, exe in _which_all(_LINUX_COMMANDS)
        ]
    return dedupe(found)


def judge(browsers: Iterable[Browser]) -> tuple[bool, str]:
    """Whether a supported browser is present, and a sentence saying which or why not."""
    good: list[str] = []
    too_old: list[str] = []
    other: list[str] = []
    for browser in browsers:
        label = LABELS.get(browser.name, browser.name)
        minimum = MIN_MAJOR.get(browser.name)
        major = major_version(browser.version)
        if minimum is None:
            other.append(label)
        elif major is None:
            good.append(f"{label} (version not read)")
        elif major >= minimum:
            good.append(f"{label} {browser.version}")
        else:
            too_old.append(f"{label} {browser.version} (needs {minimum}+)")
    if good:
        return True, "found " + ", ".join(good)
    reasons = []
    if too_old:
        reasons.append("too old: " + ", ".join(too_old))
    if other:
        reasons.append("not supported: " + ", ".join(other))
    wanted = "Chrome/Chromium/Edge 80+ or Firefox 78+"
    found = "; ".join(reasons) if reasons else "no browser found"
    return False, f"{found}; install {wanted}"


def major_version(version: str | None) -> int | None:
    """The major version number of ``"120.0.6099.130"``, or None."""
    if not version:
        return None
    match = re.match(r"\s*(\d+)", version)
    return int(match.group(1)) if match else None


def find_in_roots(roots: Iterable[Path]) -> list[Browser]:
    """Browsers at their standard install places under the given Windows folders."""
    found: list[Browser] = []
    for root in roots:
        for name, relative in _WINDOWS_LOCATIONS:
            exe = root.joinpath(*relative.split("\\"))
            if exe.is_file():
                found.append(Browser(name, file_version(name, exe), str(exe)))
    return found


def file_version(name: str, exe: Path) -> str | None:
    """A Windows browser's version from its install folder, without running it.

    Chromium-family installers keep a folder named after the version next to the
    executable; Firefox writes ``Version=`` into ``application.ini``.
    """
    if name == "firefox":
        return _ini_version(exe.parent / "application.ini")
    try:
        names = [p.name for p in exe.parent.iterdir() if p.is_dir()]
    except OSError:
        return None
    versions = [n for n in names if _VERSION_DIR.match(n)]
    if not versions:
        return None
    return max(versions, key=lambda v: tuple(int(part) for part in v.split(".")))


def command_version(exe: str) -> str | None:
    """The version a browser prints for ``--version`` (Linux), or None."""
    try:
        done = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=_TOOL_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+(?:\.\d+)+)", done.stdout)
    return match.group(1) if match else None


def dedupe(browsers: Iterable[Browser]) -> list[Browser]:
    """Each installed browser once, even when found both in the registry and on disk."""
    seen: set[tuple[str, str]] = set()
    unique: list[Browser] = []
    for browser in browsers:
        key = (browser.name, os.path.normcase(os.path.realpath(browser.path)))
        if key not in seen:
            seen.add(key)
            unique.append(browser)
    return unique


def _ini_version(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"^Version=(\S+)", text, re.MULTILINE)
    return match.group(1) if match else None


def _which_all(commands: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    found = []
    for name, command in commands:
        exe = shutil.which(command)
        if exe:
            found.append((name, exe))
    return found


def _windows_roots() -> list[Path]:
    names = ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432", "LOCALAPPDATA")
    return [Path(os.environ[n]) for n in names if os.environ.get(n)]


def _windows_app_paths() -> list[Browser]:
    if sys.platform != "win32":
        return []
    import winreg

    found: list[Browser] = []
    base = r"SOFTWARE\Microsoft\Windows\CurrentVersion\App Paths"
    for hive in (winreg.HKEY_LOCAL_MACHINE, winreg.HKEY_CURRENT_USER):
        for name, exe_name in _WINDOWS_APP_PATHS:
            try:
                with winreg.OpenKey(hive, base + "\\" + exe_name) as key:
                    value, _ = winreg.QueryValueEx(key, "")
            except OSError:
                continue
            exe = Path(str(value).strip().strip('"'))
            if exe.is_file():
                found.append(Browser(name, file_version(name, exe), str(exe)))
    return found
