"""How late the event loop wakes: a stall is logged where the lab administrator sees it.

One process serves a room from one event loop. Anything that holds it (a long full
garbage collection, a slow synchronous call, a burst of work with no await in it)
delays every answer of the room at once, and from outside it looks like a slow network.
The watch asks the loop to wake every `every_s` seconds and counts how late it woke; a
wake later than `stall_ms` is a stall, logged with its length and counted in /healthz.
The load generator uses the same watch on its own loop (`loadtests/loopwatch.py`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

EVERY_S = 0.1
"""How often the loop is asked to wake. A wake cost about 50 µs of CPU here (asyncio
and uvloop alike), so the watch takes about 0.05 % of a core."""
STALL_MS = 250.0
"""A wake this much later than asked is a stall: long enough that people notice."""
KEPT = 1000
"""Stalls kept with their moments (the count is always exact)."""


class LoopWatch:
    """Samples the running loop's lateness until its task is cancelled."""

    def __init__(
        self,
        *,
        every_s: float = EVERY_S,
        stall_ms: float = STALL_MS,
        on_stall: Callable[[float], None] | None = None,
    ) -> None:
        self.every_s = every_s
        self.stall_ms = stall_ms
        self.on_stall = on_stall
        self.stall_count = 0
        self.max_lag_ms = 0.0
        self.stalls: list[tuple[float, float]] = []
        """(epoch seconds when the stall ended, milliseconds late), the first `KEPT`"""

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.every_s
            await asyncio.sleep(self.every_s)
            self.note((loop.time() - due) * 1000.0, time.time())

    def note(self, late_ms: float, at: float) -> None:
        """Count one wake that came `late_ms` after it was due, ending at `at`."""
        self.max_lag_ms = max(self.max_lag_ms, late_ms)
        if late_ms <= self.stall_ms:
            return
        self.stall_count += 1
        if len(self.stalls) < KEPT:
            self.stalls.append((round(at, 3), round(late_ms, 1)))
        if self.on_stall is not None:
            self.on_stall(late_ms)


def log_stall(late_ms: float) -> None:
    """The server's report of a stall (its log is what the administrator reads)."""
    log.warning("the event loop was blocked for %.0f ms: every connection waited", late_ms)
