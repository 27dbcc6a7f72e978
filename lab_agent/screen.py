"""Screen resolution of the PC, as the browser will see it, where it can be measured.

Windows: ``GetSystemMetrics`` from a process that does not declare DPI awareness,
so a 1920x1080 screen at 150 % scaling reports 1280x720, which is the room the
exam page really has. Linux: ``xrandr`` or ``xdpyinfo`` when an X display is
reachable. Anything else (no display, Wayland only, a remote shell) is "unknown".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

UNKNOWN = "unknown"
_TOOL_TIMEOUT = 10.0


def screen_resolution() -> str:
    """Primary screen size as ``"WIDTHxHEIGHT"``, or ``"unknown"``."""
    if sys.platform == "win32":
        size = _windows_size()
    elif os.environ.get("DISPLAY"):
        size = _x11_size()
    else:
        size = None
    return f"{size[0]}x{size[1]}" if size else UNKNOWN


def parse_resolution(text: str) -> tuple[int, int] | None:
    """``(width, height)`` from ``"1366x768"``; None for "unknown" or nonsense."""
    match = re.fullmatch(r"\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*", text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def parse_xrandr(text: str) -> tuple[int, int] | None:
    """Size of the primary output from ``xrandr --current``; else the first connected one."""
    connected = re.findall(r"^\S+ connected (primary )?(\d+)x(\d+)\+", text, re.MULTILINE)
    for primary, width, height in connected:
        if primary:
            return int(width), int(height)
    if connected:
        return int(connected[0][1]), int(connected[0][2])
    screen = re.search(r"current (\d+) x (\d+)", text)
    return (int(screen.group(1)), int(screen.group(2))) if screen else None


def parse_xdpyinfo(text: str) -> tuple[int, int] | None:
    """Size of the first screen from ``xdpyinfo`` output."""
    match = re.search(r"dimensions:\s+(\d+)x(\d+) pixels", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _x11_size() -> tuple[int, int] | None:
    for tool, args, parse in (
        ("xrandr", ["--current"], parse_xrandr),
        ("xdpyinfo", [], parse_xdpyinfo),
    ):
        exe = shutil.which(tool)
        if exe is None:
            continue
        output = _run(exe, *args)
        size = parse(output) if output else None
        if size:
            return size
    return None


def _run(*command: str) -> str | None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_TOOL_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _windows_size() -> tuple[int, int] | None:
    if sys.platform != "win32":
        return None
    import ctypes

    width = int(ctypes.windll.user32.GetSystemMetrics(0))  # SM_CXSCREEN
    height = int(ctypes.windll.user32.GetSystemMetrics(1))  # SM_CYSCREEN
    return (width, height) if width > 0 and height > 0 else None
