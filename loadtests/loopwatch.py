"""The load generator watches itself: how late its event loop wakes, and why.

An acknowledgement is timed by the generator: from the moment it sends an answer until
it has read the reply. If the generator's own loop is busy (a full garbage collection
over thousands of simulated candidates, say), every reply arriving meanwhile is read
late and counted against the server. In rooms of 2,000, clusters of a few answers were
timed at about 550 ms while the server's loop never lagged 100 ms; the generator's own
full collections were the likely cause, and none has appeared since it freezes (below).
So the generator measures its stalls with the server's own watch
(`cbt_server/runtime/loopwatch.py`) and reports them in its ledger record (`{"kind":
"generator"}`), and the report names how many acknowledgements overlapped one: a slow
generator is a finding about the generator, not a result about the server.

It also keeps its full collections short the way the server does (`HeapFreezer`): the
survivors of each one are frozen, and the next walks only what is newer.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import os
import time
from typing import Any

from cbt_server.runtime.heap import HeapFreezer
from cbt_server.runtime.loopwatch import LoopWatch

EVERY_S = 0.05
"""How often the generator's loop is asked to wake."""
STALL_MS = 100.0
"""A wake later than this is a stall, recorded with its moment."""


class GeneratorWatch:
    """The generator's loop watch (`cbt_server.runtime.loopwatch.LoopWatch`), its full
    collections timed and their survivors frozen, until `stop`; `record()` is the ledger
    line."""

    def __init__(self, *, every_s: float = EVERY_S, stall_ms: float = STALL_MS) -> None:
        self.loop_watch = LoopWatch(every_s=every_s, stall_ms=stall_ms)
        self.full_collections = 0
        self.longest_full_collection_ms = 0.0
        self._task: asyncio.Task[None] | None = None
        self._freezer: HeapFreezer | None = None
        self._gc_started: float | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._freezer = HeapFreezer(loop)
        self._freezer.install()
        self._freezer.exam_open(True)
        gc.callbacks.append(self._on_gc)
        self._task = loop.create_task(self.loop_watch.run())

    async def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._freezer is not None:
            self._freezer.exam_open(False)
            self._freezer.uninstall()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def record(self) -> dict[str, Any]:
        watch = self.loop_watch
        return {
            "kind": "generator",
            "pid": os.getpid(),
            "stall_ms": watch.stall_ms,
            "stall_count": watch.stall_count,
            "stalls": [list(s) for s in watch.stalls],
            "max_lag_ms": round(watch.max_lag_ms, 1),
            "full_collections": self.full_collections,
            "longest_full_collection_ms": round(self.longest_full_collection_ms, 1),
        }

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started is not None:
            took = (time.perf_counter() - self._gc_started) * 1000.0
            self._gc_started = None
            self.full_collections += 1
            self.longest_full_collection_ms = max(self.longest_full_collection_ms, took)


def acks_during_stalls(
    answers: list[tuple[float, float]], stalls: list[tuple[float, float]]
) -> int:
    """How many acknowledgements (sent at epoch `at`, taking `ms`) were waiting while the
    generator stalled: their interval overlaps a stall's [end - ms, end]."""
    merged: list[list[float]] = []
    for start, end in sorted((end - ms / 1000.0, end) for end, ms in stalls):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = [start for start, _ in merged]
    count = 0
    for at, ms in answers:
        done = at + ms / 1000.0
        index = bisect.bisect_left(starts, done) - 1  # the last stall starting before done
        if index >= 0 and merged[index][1] > at:
            count += 1
    return count
