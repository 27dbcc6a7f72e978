"""Synthetic lab-agent reports for server-side tests (shaped exactly like the agent's)."""

from __future__ import annotations

import copy
from typing import Any

PASSING: dict[str, Any] = {
    "hostname": "LAB-PC-01",
    "cpu": {
        "model": "Intel(R) Core(TM) i3-6100 CPU @ 3.70GHz",
        "physical_cores": 2,
        "logical_cores": 4,
        "mhz": 3700.0,
        "score_single": 520.0,
        "score_multi": 1250.0,
        "i3_or_better": True,
    },
    "memory_gb": 7.85,
    "disk_free_gb": 120.5,
    "os": "Windows 10 (10.0.19045)",
    "screen": "1366x768",
    "browsers": [
        {
            "name": "chrome",
            "version": "109.0.5414.120",
            "path": "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        }
    ],
    "link": {"down_mbps": 9.6, "up_mbps": 9.4, "rtt_ms": 1.2},
    "checks": [],
    "passed": True,
}


def report(hostname: str = "LAB-PC-01", **changes: Any) -> dict[str, Any]:
    """A passing report for ``hostname``; ``changes`` replace fields (``cpu__score_single``
    reaches into a nested object)."""
    data = copy.deepcopy(PASSING)
    data["hostname"] = hostname
    for key, value in changes.items():
        if "__" in key:
            outer, inner = key.split("__", 1)
            data[outer][inner] = value
        else:
            data[key] = value
    return data
