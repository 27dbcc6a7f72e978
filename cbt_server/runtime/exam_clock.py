"""The runtime's "now": the wall clock with its steps taken out, counted on a monotonic clock.

Deadlines, pauses and heartbeats are stored as wall-clock timestamps, and remaining time is
derived from them (`exam/clock.py`). If the server's wall clock is stepped mid-exam (an
administrator corrects it, NTP steps it, a virtual machine resumes), every remaining time
would move with it: ten minutes forward and the whole room is auto-submitted ten minutes
early. So the running process measures time on `time.monotonic()`, which no one can step:
between two readings, the wall clock should move as far as the monotonic clock did; where
it moved more than `STEP_THRESHOLD` further (either way), the difference is a step. It is
added to `offset`, logged and reported (`on_step`), and exam time is the wall clock less
every step seen, so the stored facts stay in one consistent time line and remaining time
runs on at one second per second. Differences under the threshold (the two readings are
not taken at one instant; a clock slewed by NTP) pass through, but exam time never runs
backwards: a wall clock set back by less than the threshold holds it still meanwhile.

The offset lives as long as sessions are open: when none is in check-in or running, exam
time follows the wall clock again (`follow_wall`, called by the deadline sweeper), so a
clock corrected between exams is simply right at the next. A process started after a step
has only the wall clock (docs/reliability.md says what that means for a restart); with
several worker processes, each sees the step and takes it out itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cbt_server.db.types import utcnow

log = logging.getLogger(__name__)

STEP_THRESHOLD = timedelta(seconds=2)
"""A wall clock moving more than this further than the monotonic clock between two
readings has been stepped."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the wall clock, as this process saw it."""

    jump: timedelta
    """How far the wall clock moved beyond the monotonic clock (negative: set back)."""
    wall: datetime
    """The wall clock's reading just after the step."""
    exam_now: datetime
    """Exam time at that moment (what the stored facts are measured in)."""
    offset: timedelta
    """Every step seen so far by this process, this one included."""


class ExamClock:
    """A callable giving exam time (aware UTC datetimes), immune to wall-clock steps.

    `wall` and `mono` are the two clocks read (injected in tests); `on_step` is told of
    each step seen, in the thread that read the clock (the event loop's).
    """

    def __init__(
        self,
        wall: Callable[[], datetime] = utcnow,
        mono: Callable[[], float] = time.monotonic,
        *,
        on_step: Callable[[Step], None] | None = None,
        threshold: timedelta = STEP_THRESHOLD,
    ) -> None:
        self.wall = wall
        self.mono = mono
        self.on_step = on_step
        self.threshold = threshold
        self.offset = timedelta(0)
        self._last_wall = wall()
        self._last_mono = mono()
        self._latest = self._last_wall

    def __call__(self) -> datetime:
        wall, mono = self.wall(), self.mono()
        jump = (wall - self._last_wall) - timedelta(seconds=mono - self._last_mono)
        self._last_wall, self._last_mono = wall, mono
        stepped = abs(jump) > self.threshold
        if stepped:
            self.offset += jump
        now = max(wall - self.offset, self._latest)
        self._latest = now
        if stepped:
            step = Step(jump, wall, now, self.offset)
            log.warning(
                "the wall clock was stepped by %+.3f s (now %s); exam time runs on from %s "
                "(exam time = wall clock %+.3f s)",
                jump.total_seconds(),
                wall.isoformat(),
                now.isoformat(),
                -self.offset.total_seconds(),
            )
            if self.on_step is not None:
                self.on_step(step)
        return now

    def follow_wall(self) -> None:
        """No session is open: drop the steps seen, exam time is the wall clock again."""
        if self.offset:
            log.warning(
                "no session open: exam time follows the wall clock again (it was %+.3f s off)",
                -self.offset.total_seconds(),
            )
            self.offset = timedelta(0)
            self._latest = self._last_wall = self.wall()
            self._last_mono = self.mono()
