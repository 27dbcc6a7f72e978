"""A network namespace whose loopback is shaped to a given rate with `tc` (needs root).

Server and load generator both run inside the namespace and talk over its `lo`, so every
byte between them crosses the token-bucket filter: a stand-in for a lab's 10 Mbit/s link.
Both directions share the one qdisc, which is a little stricter than a full-duplex link.
`lo` gets an MTU of 1500 (with the default 65536 tbf stalls) and real-sized packets.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence

TBF_BURST_KBIT_PER_MBIT = 3.2  # 32 kbit at 10 Mbit/s: one or two full packets of burst
TBF_MIN_BURST_KBIT = 32
TBF_LATENCY = "400ms"


class NamespaceError(RuntimeError):
    """A namespace or qdisc command failed; the message holds the command and its output."""


def is_root() -> bool:
    return os.geteuid() == 0


def tbf_args(rate_mbit: float) -> list[str]:
    """The `tc` arguments that shape `lo` to `rate_mbit` (positive)."""
    if not rate_mbit > 0:
        raise ValueError(f"rate must be positive: {rate_mbit!r}")
    rate_kbit = max(1, round(rate_mbit * 1000))
    burst_kbit = max(TBF_MIN_BURST_KBIT, round(rate_mbit * TBF_BURST_KBIT_PER_MBIT))
    return [
        "tc", "qdisc", "add", "dev", "lo", "root", "tbf",
        "rate", f"{rate_kbit}kbit", "burst", f"{burst_kbit}kbit", "latency", TBF_LATENCY,
    ]  # fmt: skip


def _run(args: Sequence[str]) -> str:
    done = subprocess.run(list(args), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise NamespaceError(f"{' '.join(args)}: {(done.stderr or done.stdout).strip()}")
    return done.stdout


class Namespace:
    """One namespace for one run; `close()` kills what still runs in it and deletes it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.created = False

    def create(self, rate_mbit: float) -> None:
        """Create the namespace, bring up `lo` (MTU 1500) and shape it when rate > 0."""
        _run(["ip", "netns", "add", self.name])
        self.created = True
        _run(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "mtu", "1500", "up"])
        if rate_mbit > 0:
            _run(["ip", "netns", "exec", self.name, *tbf_args(rate_mbit)])

    def prefix(self) -> list[str]:
        """Put this in front of a command to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def pids(self) -> list[int]:
        if not self.created:
            return []
        out = _run(["ip", "netns", "pids", self.name])
        return [int(word) for word in out.split() if word.isdigit()]

    def close(self, grace_s: float = 5.0) -> None:
        """Stop every process left inside (TERM, then KILL after `grace_s`), then delete."""
        if not self.created:
            return
        try:
            _signal_all(self.pids(), signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
            _signal_all(self.pids(), signal.SIGKILL)
        finally:
            _run(["ip", "netns", "del", self.name])
            self.created = False


def _signal_all(pids: Sequence[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def lo_tx_bytes(proc_net_dev: str) -> int:
    """Bytes sent on `lo` from the text of /proc/net/dev (each packet counted once)."""
    for line in proc_net_dev.splitlines():
        name, sep, counters = line.partition(":")
        if sep and name.strip() == "lo":
            fields = counters.split()
            if len(fields) < 16:
                break
            return int(fields[8])  # receive has 8 fields; transmit bytes come first after
    raise ValueError("no 'lo' line in /proc/net/dev")
