"""A clock for the runtime (`Runtime.now`) that a test moves on instead of sleeping."""

from __future__ import annotations

from datetime import datetime, timedelta

from cbt_server.db.types import utcnow


class SteppedClock:
    """The wall clock plus whatever the test has moved it on by: `advance(0.3)` makes
    0.3 s pass for everything that reads this clock, at once. It never runs backwards,
    so stored facts stay in order with the rows the real clock stamps."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)
