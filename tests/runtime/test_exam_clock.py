"""The exam clock takes wall-clock steps out: time runs on the monotonic clock's pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cbt_server.exam import clock
from cbt_server.runtime.exam_clock import ExamClock, Step

T0 = datetime(2026, 5, 18, 1, 0, tzinfo=UTC)
TEN_MIN = 600.0


class TwoClocks:
    """A wall clock and a monotonic clock that a test moves: `advance` is time passing
    (both move), `step` is someone setting the wall clock (only it moves)."""

    def __init__(self) -> None:
        self.wall_at = T0
        self.mono_at = 1_000.0

    def wall(self) -> datetime:
        return self.wall_at

    def mono(self) -> float:
        return self.mono_at

    def advance(self, seconds: float) -> None:
        self.wall_at += timedelta(seconds=seconds)
        self.mono_at += seconds

    def step(self, seconds: float) -> None:
        self.wall_at += timedelta(seconds=seconds)


def make() -> tuple[TwoClocks, ExamClock, list[Step]]:
    clocks, steps = TwoClocks(), []
    return clocks, ExamClock(clocks.wall, clocks.mono, on_step=steps.append), steps


def test_without_steps_exam_time_is_the_wall_clock() -> None:
    clocks, now, steps = make()
    assert now() == T0
    clocks.advance(12.5)
    assert now() == T0 + timedelta(seconds=12.5)
    assert steps == []


def test_remaining_time_moves_only_by_the_monotonic_time_across_steps() -> None:
    for jump in (TEN_MIN, -TEN_MIN):
        clocks, now, steps = make()
        facts = clock.ClockFacts(duration=timedelta(minutes=5), started_at=T0)
        clocks.advance(30)
        before = clock.remaining_ms(facts, now())
        clocks.advance(1.25)
        clocks.step(jump)
        clocks.advance(0.75)
        after = clock.remaining_ms(facts, now())
        assert before - after == 2_000  # the monotonic time between the two readings
        assert not clock.is_expired(facts, now())  # a +10 min step submits nobody early
        assert [s.jump for s in steps] == [timedelta(seconds=jump)]
        assert steps[0].wall == clocks.wall_at and steps[0].offset == timedelta(seconds=jump)
        assert steps[0].exam_now == T0 + timedelta(seconds=32)
        # The deadline falls due when the monotonic clock says so, not before.
        clocks.advance(5 * 60 - 32 - 0.001)
        assert not clock.is_expired(facts, now())
        clocks.advance(0.001)
        assert clock.is_expired(facts, now())
        assert clock.expired_at(facts, now()) == T0 + timedelta(minutes=5)


def test_steps_add_up_and_a_step_back_is_undone_by_a_step_forward() -> None:
    clocks, now, steps = make()
    clocks.step(-TEN_MIN)
    clocks.advance(1)
    assert now() == T0 + timedelta(seconds=1)
    clocks.step(TEN_MIN + 3)
    assert now() == T0 + timedelta(seconds=1)
    assert [s.jump.total_seconds() for s in steps] == [-TEN_MIN, TEN_MIN + 3]
    assert now.offset == timedelta(seconds=3)


def test_small_differences_pass_but_time_never_runs_backwards() -> None:
    clocks, now, steps = make()
    clocks.advance(10)
    assert now() == T0 + timedelta(seconds=10)
    clocks.step(-1.5)  # under the threshold: not a step
    assert now() == T0 + timedelta(seconds=10)  # held, not run backwards
    clocks.advance(1)
    assert now() == T0 + timedelta(seconds=10)
    clocks.advance(1)
    assert now() == T0 + timedelta(seconds=10.5)
    clocks.step(1.9)
    assert now() == T0 + timedelta(seconds=12.4)
    assert steps == []
    clocks.step(2.1)  # over it
    assert now() == T0 + timedelta(seconds=12.4)
    assert len(steps) == 1


def test_with_no_session_open_exam_time_follows_the_wall_clock_again() -> None:
    clocks, now, steps = make()
    clocks.step(TEN_MIN)
    clocks.advance(1)
    assert now() == T0 + timedelta(seconds=1)
    now.follow_wall()
    assert now() == clocks.wall_at == T0 + timedelta(seconds=TEN_MIN + 1)
    clocks.advance(1)
    assert now() == clocks.wall_at
    assert len(steps) == 1 and now.offset == timedelta(0)
