"""What the agent reads from the PC: CPU, memory, disk, OS, screen and browsers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import psutil
import pytest

from lab_agent import browsers, screen, sysinfo
from lab_agent.browsers import Browser

XRANDR = """\
Screen 0: minimum 8 x 8, current 3286 x 1080, maximum 32767 x 32767
HDMI-1 connected 1920x1080+1366+0 (normal left inverted right x axis y axis) 527mm x 296mm
   1920x1080     60.00*+
VGA-1 connected primary 1366x768+0+0 (normal left inverted right x axis y axis) 410mm x 230mm
   1366x768      59.79*+
DP-1 disconnected (normal left inverted right x axis y axis)
"""


def test_xrandr_takes_the_primary_output() -> None:
    assert screen.parse_xrandr(XRANDR) == (1366, 768)


def test_xrandr_without_primary_takes_the_first_connected_output() -> None:
    text = XRANDR.replace("connected primary", "connected")
    assert screen.parse_xrandr(text) == (1920, 1080)


def test_xrandr_with_no_output_lines_falls_back_to_the_screen_size() -> None:
    assert screen.parse_xrandr("Screen 0: minimum 8 x 8, current 1024 x 768, max") == (1024, 768)
    assert screen.parse_xrandr("garbage") is None


def test_xdpyinfo_dimensions() -> None:
    text = "screen #0:\n  dimensions:    1280x1024 pixels (338x270 millimeters)\n"
    assert screen.parse_xdpyinfo(text) == (1280, 1024)
    assert screen.parse_xdpyinfo("no screens") is None


@pytest.mark.parametrize(
    ("text", "size"),
    [("1366x768", (1366, 768)), (" 1024 × 768 ", (1024, 768)), ("unknown", None), ("9x", None)],
)
def test_parse_resolution(text: str, size: tuple[int, int] | None) -> None:
    assert screen.parse_resolution(text) == size


def test_without_a_display_the_screen_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    assert screen.screen_resolution() == "unknown"


def test_with_an_unreachable_display_the_screen_is_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # xrandr (if installed) fails to open display :97 and must not be taken as a size.
    monkeypatch.setenv("DISPLAY", ":97")
    assert screen.screen_resolution() == "unknown"


def test_cpu_facts_match_psutil() -> None:
    cpu = sysinfo.cpu_facts()
    assert cpu.logical_cores == os.cpu_count()
    assert cpu.physical_cores == psutil.cpu_count(logical=False)
    assert cpu.model and cpu.model != "unknown"
    assert cpu.mhz is None or cpu.mhz > 100


def test_memory_fallback_agrees_with_psutil() -> None:
    fallback = sysinfo.sysconf_memory_bytes()
    assert fallback is not None
    assert fallback == pytest.approx(psutil.virtual_memory().total, rel=0.05)
    assert sysinfo.memory_gb() == round(psutil.virtual_memory().total / 1024**3, 2)


def test_disk_free_in_gib(tmp_path: Path) -> None:
    expected = shutil.disk_usage(tmp_path).free / 1024**3
    assert sysinfo.disk_free_gb(str(tmp_path)) == pytest.approx(expected, abs=0.05)


def test_os_name_names_the_system() -> None:
    name = sysinfo.os_name()
    assert "Linux" in name


@pytest.mark.parametrize(
    ("release", "version", "name"),
    [
        ("10", "10.0.19045", "Windows 10 (10.0.19045)"),
        ("10", "10.0.22631", "Windows 11 (10.0.22631)"),
        ("7", "6.1.7601", "Windows 7 (6.1.7601)"),
        ("11", "", "Windows 11"),
    ],
)
def test_windows_11_is_told_apart_by_build(release: str, version: str, name: str) -> None:
    assert sysinfo.windows_name(release, version) == name


def test_proc_cpuinfo_fallback() -> None:
    text = "processor\t: 0\nmodel name\t: Hygon C86 3250  8-core Processor\ncpu MHz\t\t: 2999.998\n"
    assert sysinfo.parse_proc_cpuinfo(text) == ("Hygon C86 3250  8-core Processor", 2999.998)
    assert sysinfo.parse_proc_cpuinfo("") == (None, None)


def _touch(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_windows_install_folders_and_versions(tmp_path: Path) -> None:
    program_files = tmp_path / "Program Files"
    local = tmp_path / "AppData" / "Local"
    chrome = program_files / "Google" / "Chrome" / "Application"
    _touch(chrome / "chrome.exe")
    (chrome / "109.0.5414.120").mkdir()
    (chrome / "110.0.5481.78").mkdir()
    (chrome / "SetupMetrics").mkdir()
    firefox = program_files / "Mozilla Firefox"
    _touch(firefox / "firefox.exe")
    _touch(firefox / "application.ini", "[App]\nVendor=Mozilla\nVersion=115.6.0\n")
    _touch(local / "360se6" / "Application" / "360se.exe")

    found = browsers.find_in_roots([program_files, local])
    assert {(b.name, b.version) for b in found} == {
        ("chrome", "110.0.5481.78"),
        ("firefox", "115.6.0"),
        ("360se", None),
    }


def test_linux_version_from_the_browser_itself(tmp_path: Path) -> None:
    exe = tmp_path / "firefox"
    exe.write_text('#!/bin/sh\necho "Mozilla Firefox 115.6.0esr"\n')
    exe.chmod(0o755)
    assert browsers.command_version(str(exe)) == "115.6.0"
    assert browsers.command_version(str(tmp_path / "missing")) is None


def test_find_browsers_on_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = tmp_path / "google-chrome"
    exe.write_text('#!/bin/sh\necho "Google Chrome 121.0.6167.85 "\n')
    exe.chmod(0o755)
    (tmp_path / "google-chrome-stable").symlink_to(exe)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert browsers.find_browsers() == [Browser("chrome", "121.0.6167.85", str(exe))]


def test_each_browser_is_listed_once(tmp_path: Path) -> None:
    exe = tmp_path / "chrome.exe"
    exe.write_text("")
    twice = [
        Browser("chrome", "1", str(exe)),
        Browser("chrome", "1", str(tmp_path / "." / exe.name)),
    ]
    assert len(browsers.dedupe(twice)) == 1


@pytest.mark.parametrize(
    ("version", "major"), [("120.0.1", 120), ("78", 78), (None, None), ("beta", None)]
)
def test_major_version(version: str | None, major: int | None) -> None:
    assert browsers.major_version(version) == major
