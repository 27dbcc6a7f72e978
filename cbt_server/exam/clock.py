"""The exam clock: a candidate's remaining time derived from stored facts only.

Nothing here keeps a timer. Given when the candidate's time started, the duration, the
pauses (the candidate's own and the whole room's, possibly overlapping), the extra time
granted and the intervals when no server process ran, `remaining` answers "how much time
is left as of `now`". Evaluated at any past `now`, it answers as of that moment, so the
same facts give the same figures after a restart.

Active time is wall time since `started_at` minus the union of the excluded intervals
(pauses, and downtime under the "not_counted" policy) clipped to `[started_at, now]`.
All arithmetic is on `timedelta` (whole microseconds), so accounting is exact.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

ZERO = timedelta(0)


class DowntimePolicy(StrEnum):
    """How intervals with no server running count against a candidate's time."""

    NOT_COUNTED = "not_counted"  # given back: the candidate loses no time to a crash
    COUNTED = "counted"  # the clock ran on while the server was down


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open wall-clock interval `[start, end)`; `end=None` means still open."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware(self.start, "interval start")
        if self.end is not None:
            _require_aware(self.end, "interval end")
            if self.end < self.start:
                raise ValueError(f"interval ends before it starts: {self.start} > {self.end}")

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True, slots=True)
class Grant:
    """Extra time granted at `at`; it counts from that moment on."""

    at: datetime
    amount: timedelta

    def __post_init__(self) -> None:
        _require_aware(self.at, "grant time")
        if self.amount <= ZERO:
            raise ValueError(f"extra time must be positive: {self.amount}")


@dataclass(frozen=True, slots=True)
class ClockFacts:
    """Everything the clock of one candidate depends on, as stored in the database."""

    duration: timedelta
    started_at: datetime | None = None
    pauses: tuple[Interval, ...] = ()
    grants: tuple[Grant, ...] = ()
    downtimes: tuple[Interval, ...] = ()
    downtime_policy: DowntimePolicy = DowntimePolicy.NOT_COUNTED
    stopped_at: datetime | None = field(default=None)
    """When the candidate's time stopped for good (submission); later `now`s clamp to it."""

    def __post_init__(self) -> None:
        if self.duration <= ZERO:
            raise ValueError(f"duration must be positive: {self.duration}")
        if self.started_at is not None:
            _require_aware(self.started_at, "started_at")
        if self.stopped_at is not None:
            _require_aware(self.stopped_at, "stopped_at")


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime: {moment!r}")


def union_length(intervals: Iterable[Interval], lo: datetime, hi: datetime) -> timedelta:
    """Total length of the union of `intervals` clipped to `[lo, hi]` (open ends run to hi)."""
    total = ZERO
    covered = lo  # the intervals so far cover nothing after this instant
    for interval in sorted(intervals, key=lambda interval: interval.start):
        end = hi if interval.end is None else min(interval.end, hi)
        total += max(end - max(interval.start, covered), ZERO)
        covered = max(covered, end)
    return total


def _effective_now(facts: ClockFacts, now: datetime) -> datetime:
    _require_aware(now, "now")
    return now if facts.stopped_at is None else min(now, facts.stopped_at)


def _excluded(facts: ClockFacts) -> list[Interval]:
    excluded = list(facts.pauses)
    if facts.downtime_policy is DowntimePolicy.NOT_COUNTED:
        excluded.extend(facts.downtimes)
    return excluded


def extra_time(facts: ClockFacts, now: datetime) -> timedelta:
    """Extra time granted up to `now`."""
    moment = _effective_now(facts, now)
    return sum((g.amount for g in facts.grants if g.at <= moment), ZERO)


def allowed(facts: ClockFacts, now: datetime) -> timedelta:
    """The candidate's total allowance as of `now`: duration plus extra time granted."""
    return facts.duration + extra_time(facts, now)


def elapsed(facts: ClockFacts, now: datetime) -> timedelta:
    """Time counted against the candidate between `started_at` and `now`."""
    moment = _effective_now(facts, now)
    if facts.started_at is None:
        return ZERO
    wall = max(moment - facts.started_at, ZERO)  # none before the start
    return wall - union_length(_excluded(facts), facts.started_at, moment)


def _raw_remaining(facts: ClockFacts, now: datetime) -> timedelta:
    return allowed(facts, now) - elapsed(facts, now)


def remaining(facts: ClockFacts, now: datetime) -> timedelta:
    """Time left as of `now`: full before the start, zero or negative once expired.

    Expiry is final: extra time granted after the moment time ran out does not bring
    the candidate back (they were due to be submitted at that moment).
    """
    left = _raw_remaining(facts, now)
    if facts.grants and expired_at(facts, now) is not None:
        return min(left, ZERO)
    return left


def remaining_ms(facts: ClockFacts, now: datetime) -> int:
    """Time left in whole milliseconds, never negative (the figure sent to clients)."""
    return max(remaining(facts, now), ZERO) // timedelta(milliseconds=1)


def is_paused(facts: ClockFacts, now: datetime) -> bool:
    """Whether a pause (the candidate's or the room's) holds the clock at `now`."""
    moment = _effective_now(facts, now)
    return any(p.contains(moment) for p in facts.pauses)


def is_running(facts: ClockFacts, now: datetime) -> bool:
    """Started, not stopped, not paused and not out of time."""
    if facts.started_at is None or now < facts.started_at:
        return False
    if facts.stopped_at is not None and now >= facts.stopped_at:
        return False
    return not is_paused(facts, now) and remaining(facts, now) > ZERO


def is_expired(facts: ClockFacts, now: datetime) -> bool:
    """Whether the candidate's time has run out at or before `now`."""
    return expired_at(facts, now) is not None


def deadline(facts: ClockFacts, now: datetime) -> datetime | None:
    """When time runs out if nothing changes after `now`.

    Once expired, the moment of expiry is returned (it lies at or before `now`), even if
    a pause began later. Otherwise None while the clock is not running towards a deadline:
    before the start, while paused (a pause has no known end), or after the time was
    stopped by a submission.
    """
    if facts.started_at is None or (facts.stopped_at is not None and now >= facts.stopped_at):
        return None
    expiry = expired_at(facts, now)
    if expiry is not None:
        return expiry
    if is_paused(facts, now):
        return None
    return now + _raw_remaining(facts, now)


def expired_at(facts: ClockFacts, now: datetime) -> datetime | None:
    """The moment time ran out, if it did at or before `now`; else None."""
    if facts.started_at is None:
        return None
    moment = _effective_now(facts, now)
    # Walk the timeline: between boundaries, remaining time falls one second per second
    # where not excluded and stays put where excluded; grants add at their moment. At or
    # before the start there is no segment, and the full duration is left.
    excluded = _excluded(facts)
    boundaries = {facts.started_at, moment}
    for interval in excluded:
        boundaries.add(interval.start)
        if interval.end is not None:
            boundaries.add(interval.end)
    boundaries.update(grant.at for grant in facts.grants)
    points = sorted(b for b in boundaries if facts.started_at <= b <= moment)
    for left_edge, right_edge in pairwise(points):
        at_left = _raw_remaining(facts, left_edge)
        if at_left <= ZERO:
            return left_edge
        active = (right_edge - left_edge) - union_length(excluded, left_edge, right_edge)
        # No boundary lies inside the segment, so it is wholly active or wholly excluded.
        # Reaching zero exactly at the right edge is judged there, where a grant made at
        # that very moment still counts.
        if active > at_left:
            return left_edge + at_left
    if _raw_remaining(facts, moment) <= ZERO:
        return moment
    return None
