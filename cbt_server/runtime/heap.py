"""Full garbage collections kept short while an exam runs.

A room of 2,000 keeps a few million objects alive (connections, paper views, queues).
CPython's full collection walks every one of them; measured in a room of 2,000 they took
1.2 to 1.4 s each, once every 10 to 60 s, and every answer arriving meanwhile waited (the
ack p99 of the room was those pauses). While a session is running, whatever survives a
full collection is frozen (`gc.freeze`): it was reachable then, and the next full
collection walks only what is newer (tens of milliseconds). Frozen objects that become
cyclic garbage later are not reclaimed until they are unfrozen, which happens once no
session is running (between exams): one long collection then, when nobody waits.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any


class HeapFreezer:
    """Freezes the survivors of each full collection while `running` (see module)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.running = False
        self.freezes = 0

    def install(self) -> None:
        gc.callbacks.append(self._after_collection)

    def uninstall(self) -> None:
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)

    def exam_running(self, running: bool) -> None:
        """Tell whether any session is running (the sweeper does, on each sweep)."""
        if self.running and not running:
            gc.unfreeze()  # what the exams left behind is collected from now on
        elif running and not self.running:
            # What check-in built (connections, paper views) lives until the end: frozen
            # now, the first full collection of the exam does not walk it either (in a
            # room of 2,000 that one took 1.7 s, a few seconds after the start).
            gc.freeze()
            self.freezes += 1
        self.running = running

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        # Any thread may trigger a collection; freeze on the loop's thread, after it.
        if phase == "stop" and info.get("generation") == 2 and self.running:
            self._loop.call_soon_threadsafe(self._freeze)

    def _freeze(self) -> None:
        if self.running:
            gc.freeze()
            self.freezes += 1
