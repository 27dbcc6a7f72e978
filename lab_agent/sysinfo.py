"""Facts about this PC: CPU, memory, disk, operating system, host name.

psutil and py-cpuinfo are used when installed; every fact has a standard-library
fallback so the agent still runs from a bare Python on a lab PC.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GIB = 1024**3


@dataclass(frozen=True)
class CpuFacts:
    """What the PC says about its CPU (the benchmark decides how fast it is)."""

    model: str
    physical_cores: int | None
    logical_cores: int
    mhz: float | None


def hostname() -> str:
    """This PC's network name, which the server uses to tell PCs apart."""
    return socket.gethostname() or platform.node() or "unknown"


def cpu_facts() -> CpuFacts:
    """CPU model, core counts and nominal frequency, from the best source available."""
    info = _cpuinfo()
    return CpuFacts(
        model=_cpu_model(info),
        physical_cores=_physical_cores(),
        logical_cores=os.cpu_count() or 1,
        mhz=_cpu_mhz(info),
    )


def memory_gb() -> float | None:
    """Total memory the OS can use, in GiB (firmware and graphics take part of the modules)."""
    total = _memory_bytes()
    return round(total / GIB, 2) if total else None


def disk_free_gb(path: str | None = None) -> float:
    """Free space in GiB on the disk holding the user's profile (browser cache lives there)."""
    where = path if path is not None else _profile_dir()
    return round(shutil.disk_usage(where).free / GIB, 2)


def os_name() -> str:
    """A readable name and version of the operating system."""
    if sys.platform == "win32":
        release, version, _, _ = platform.win32_ver()
        return windows_name(release, version)
    if sys.platform.startswith("linux"):
        pretty = _os_release_pretty_name()
        base = f"Linux {platform.release()}"
        return f"{pretty} ({base})" if pretty else base
    return f"{platform.system()} {platform.release()}".strip() or "unknown"


def windows_name(release: str, version: str) -> str:
    """Windows name from ``platform.win32_ver()``; build 22000+ is Windows 11.

    Older Pythons report Windows 11 as release "10", so the build number decides.
    """
    build = _windows_build(version)
    if release == "10" and build is not None and build >= 22000:
        release = "11"
    label = f"Windows {release}".strip()
    return f"{label} ({version})" if version else label


def parse_proc_cpuinfo(text: str) -> tuple[str | None, float | None]:
    """Model name and MHz from Linux /proc/cpuinfo text (a fallback source only)."""
    model = _field(text, "model name") or _field(text, "Processor") or _field(text, "cpu model")
    mhz_text = _field(text, "cpu MHz")
    try:
        mhz = float(mhz_text) if mhz_text else None
    except ValueError:
        mhz = None
    return model, mhz


def _field(text: str, name: str) -> str | None:
    match = re.search(rf"^{re.escape(name)}\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def _windows_build(version: str) -> int | None:
    parts = version.split(".")
    if len(parts) >= 3 and parts[2].isdigit():
        return int(parts[2])
    return None


def _cpuinfo() -> dict[str, Any]:
    try:
        import cpuinfo  # py-cpuinfo
    except ImportError:
        return {}
    try:
        info = cpuinfo.get_cpu_info()
    except Exception:  # any failure of an optional probe falls back
        return {}
    return info if isinstance(info, dict) else {}


def _cpu_model(info: dict[str, Any]) -> str:
    brand = info.get("brand_raw")
    if isinstance(brand, str) and brand.strip():
        return " ".join(brand.split())
    registry = _windows_cpu_registry("ProcessorNameString")
    if isinstance(registry, str) and registry.strip():
        return " ".join(registry.split())
    model, _ = parse_proc_cpuinfo(_read_proc_cpuinfo())
    if model:
        return " ".join(model.split())
    return platform.processor() or "unknown"


def _cpu_mhz(info: dict[str, Any]) -> float | None:
    try:
        import psutil

        freq = psutil.cpu_freq()
    except Exception:  # psutil missing or unsupported here
        freq = None
    if freq is not None:
        best = freq.max if freq.max and freq.max > 0 else freq.current
        if best and best > 0:
            return round(float(best), 1)
    advertised = info.get("hz_advertised")
    if isinstance(advertised, (list, tuple)) and advertised and advertised[0]:
        return round(float(advertised[0]) / 1e6, 1)
    registry = _windows_cpu_registry("~MHz")
    if isinstance(registry, int) and registry > 0:
        return float(registry)
    _, mhz = parse_proc_cpuinfo(_read_proc_cpuinfo())
    return round(mhz, 1) if mhz else None


def _physical_cores() -> int | None:
    try:
        import psutil

        count = psutil.cpu_count(logical=False)
    except Exception:  # psutil missing: the count stays unknown
        return None
    return int(count) if count else None


def _memory_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # fall back to the OS interfaces below
        pass
    if sys.platform == "win32":
        return _windows_memory_bytes()
    return sysconf_memory_bytes()


def sysconf_memory_bytes() -> int | None:
    """Physical memory from POSIX sysconf (Linux and most Unix systems)."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def _windows_memory_bytes() -> int | None:
    if sys.platform != "win32":
        return None
    import ctypes

    class MemoryStatusEx(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatusEx()
    status.dwLength = ctypes.sizeof(MemoryStatusEx)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        return None
    return int(status.ullTotalPhys)


def _windows_cpu_registry(value_name: str) -> Any:
    if sys.platform != "win32":
        return None
    import winreg

    key_path = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key_path) as key:
            value, _ = winreg.QueryValueEx(key, value_name)
    except OSError:
        return None
    return value


def _read_proc_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _os_release_pretty_name() -> str | None:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        match = re.search(r"^PRETTY_NAME=(.*)$", text, re.MULTILINE)
        if match:
            return match.group(1).strip().strip('"').strip("'") or None
    return None


def _profile_dir() -> str:
    home = Path.home()
    return str(home) if home.is_dir() else tempfile.gettempdir()
