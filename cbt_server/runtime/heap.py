"""Full garbage collections kept short while people are in an exam.

A room of 2,000 keeps a few million objects alive (connections, paper views, queues).
CPython's full collection walks every one of them; measured in a room of 2,000 they took
1.2 to 1.4 s each, once every 10 to 60 s, and every answer arriving meanwhile waited (the
ack p99 of the room was those pauses). While a session is open (for check-in or
running), whatever survives a full collection is frozen (`gc.freeze`): it was reachable
then, and the next full collection walks only what is newer (tens of milliseconds).
Check-in counts too: while 3,000 candidates logged in, the heap grew by their
connections and paper views and full collections of 0.3–0.8 s held every login up.
Frozen objects that become cyclic garbage later are not reclaimed until they are
unfrozen, which happens once no session is open (between exams): one long collection
then, when nobody waits.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any


class HeapFreezer:
    """Freezes the survivors of each full collection while `open` (see module)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.open = False
        self.freezes = 0

    def install(self) -> None:
        gc.callbacks.append(self._after_collection)

    def uninstall(self) -> None:
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)

    def exam_open(self, open_: bool) -> None:
        """Tell whether any session is open for check-in or running (the sweeper does,
        on each pass)."""
        if self.open and not open_:
            gc.unfreeze()  # what the exams left behind is collected from now on
        elif open_ and not self.open:
            # What was built before (start-up, earlier check-ins) lives on: frozen now,
            # the first full collection of the exam does not walk it either (in a room
            # of 2,000 that one took 1.7 s, a few seconds after the start).
            gc.freeze()
            self.freezes += 1
        self.open = open_

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        # Any thread may trigger a collection; freeze on the loop's thread, after it.
        if phase == "stop" and info.get("generation") == 2 and self.open:
            self._loop.call_soon_threadsafe(self._freeze)

    def _freeze(self) -> None:
        if self.open:
            gc.freeze()
            self.freezes += 1
