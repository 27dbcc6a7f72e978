"""A plain-text progress bar on stderr (no terminal library needed on lab PCs)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30
_REDRAW_SECONDS = 0.1


class Progress:
    """One bar for one measurement step.

    On a terminal the bar is redrawn in place; when stderr is a file or a pipe
    only the finished line is written, so logs stay readable.
    """

    def __init__(self, label: str, total: float, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total if total > 0 else 1.0
        self.stream = stream if stream is not None else sys.stderr
        self._live = _isatty(self.stream)
        self._last_draw = 0.0
        self._done = 0.0

    def update(self, done: float, note: str = "") -> None:
        """Record progress; redraw at most ten times a second on a terminal."""
        self._done = min(max(done, 0.0), self.total)
        now = time.monotonic()
        if self._live and now - self._last_draw >= _REDRAW_SECONDS:
            self._last_draw = now
            self.stream.write("\r" + self.line(note))
            self.stream.flush()

    def finish(self, note: str = "") -> None:
        """Draw the bar full and end its line."""
        self._done = self.total
        prefix = "\r" if self._live else ""
        self.stream.write(prefix + self.line(note) + "\n")
        self.stream.flush()

    def fail(self, note: str) -> None:
        """End the bar's line without filling it, naming what went wrong."""
        prefix = "\r" if self._live else ""
        self.stream.write(prefix + self.line("failed: " + note) + "\n")
        self.stream.flush()

    def line(self, note: str = "") -> str:
        """The bar as text, e.g. ``download  [#####.....]  50%  9.4 Mbit/s``."""
        fraction = self._done / self.total
        filled = int(round(fraction * _WIDTH))
        bar = "#" * filled + "." * (_WIDTH - filled)
        text = f"{self.label:<10} [{bar}] {fraction * 100:3.0f}%"
        return f"{text}  {note}" if note else text


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
