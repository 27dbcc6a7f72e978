"""This PC's network cards: their MAC addresses, and the address it reaches the server from.

The MACs identify the PC to the server (a hostname can be cloned with a disk image, a
MAC cannot without intent). Linux reads ``/sys/class/net``; Windows asks ``getmac``;
anything else falls back to ``uuid.getnode()`` (one MAC, if the OS tells it).
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable

_MAC = re.compile(r"^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$", re.IGNORECASE)
_NOT_A_CARD = {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}


def normalize(text: str) -> str | None:
    """``AA-BB-…`` as ``aa:bb:…``; None for what is not a real card's MAC."""
    raw = text.strip().lower().replace("-", ":")
    if not _MAC.match(raw) or raw in _NOT_A_CARD:
        return None
    return raw


def linux_macs(root: str = "/sys/class/net") -> list[str]:
    """MACs of the physical and virtual cards under ``root``, loopback left out."""
    found = []
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    for name in names:
        if name == "lo":
            continue
        try:
            with open(os.path.join(root, name, "address"), encoding="ascii") as handle:
                mac = normalize(handle.read())
        except (OSError, UnicodeDecodeError):
            continue
        if mac and mac not in found:
            found.append(mac)
    return found


def windows_macs(run: Callable[[list[str]], str]) -> list[str]:
    """MACs from ``getmac /fo csv /nh`` (first column of each line)."""
    try:
        text = run(["getmac", "/fo", "csv", "/nh"])
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for row in csv.reader(io.StringIO(text)):
        mac = normalize(row[0]) if row else None
        if mac and mac not in found:
            found.append(mac)
    return found


def _run(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, timeout=15, check=False).stdout


def node_mac() -> str | None:
    node = uuid.getnode()
    if (node >> 40) & 1:  # the multicast bit: a random number, not a card
        return None
    return normalize(":".join(f"{(node >> s) & 0xFF:02x}" for s in range(40, -8, -8)))


def mac_addresses() -> list[str]:
    """This PC's MAC addresses, the best source of the OS first."""
    if sys.platform == "win32":
        found = windows_macs(_run)
    else:
        found = linux_macs()
    if not found:
        mac = node_mac()
        found = [mac] if mac else []
    return found


def address_towards(host: str, port: int) -> str | None:
    """The local address this PC uses to reach ``host`` (no packet is sent)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        family, _, _, _, target = infos[0]
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(target)
            return str(probe.getsockname()[0])
    except (OSError, IndexError):
        return None
