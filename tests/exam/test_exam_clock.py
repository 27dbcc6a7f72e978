"""The clock derived from stored facts: exact accounting with fixed times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cbt_server.exam.clock import (
    ClockFacts,
    DowntimePolicy,
    Grant,
    Interval,
    deadline,
    elapsed,
    extra_time,
    is_expired,
    is_paused,
    is_running,
    remaining,
    remaining_ms,
    union_length,
)

T0 = datetime(2024, 5, 18, 1, 0, 0, tzinfo=UTC)  # 09:00 in Beijing


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mins(value: float) -> timedelta:
    return timedelta(minutes=value)


def facts(**kw: object) -> ClockFacts:
    base: dict[str, object] = {"duration": mins(90), "started_at": T0}
    base.update(kw)
    return ClockFacts(**base)  # type: ignore[arg-type]


def test_not_started_has_full_time_and_no_deadline() -> None:
    f = ClockFacts(duration=mins(90))
    assert remaining(f, at(30)) == mins(90)
    assert deadline(f, at(30)) is None
    assert not is_expired(f, at(500))
    assert not is_running(f, at(0))


def test_plain_running_clock() -> None:
    f = facts()
    assert remaining(f, at(0)) == mins(90)
    assert remaining(f, at(30)) == mins(60)
    assert deadline(f, at(30)) == at(90)
    assert deadline(f, at(0)) == at(90)
    assert is_running(f, at(89.99))
    assert not is_expired(f, at(89.99))
    assert is_expired(f, at(90))
    assert remaining(f, at(100)) == mins(-10)
    assert remaining_ms(f, at(100)) == 0


def test_before_start_moment_counts_nothing() -> None:
    f = facts()
    assert elapsed(f, at(-5)) == timedelta(0)
    assert remaining(f, at(-5)) == mins(90)


def test_remaining_ms_is_floored_to_whole_milliseconds() -> None:
    f = facts()
    now = T0 + timedelta(microseconds=1500)
    assert remaining_ms(f, now) == 90 * 60 * 1000 - 2


def test_closed_pause_is_not_counted() -> None:
    f = facts(pauses=(Interval(at(10), at(25)),))
    assert remaining(f, at(10)) == mins(80)
    assert remaining(f, at(20)) == mins(80)  # frozen during the pause
    assert remaining(f, at(25)) == mins(80)
    assert remaining(f, at(35)) == mins(70)
    assert deadline(f, at(35)) == at(105)


def test_open_pause_freezes_clock_and_hides_deadline() -> None:
    f = facts(pauses=(Interval(at(10)),))
    assert is_paused(f, at(50))
    assert remaining(f, at(50)) == mins(80)
    assert deadline(f, at(50)) is None
    assert not is_running(f, at(50))
    assert not is_expired(f, at(500))  # a paused clock never runs out


def test_evaluating_at_a_past_moment_answers_as_of_then() -> None:
    f = facts(pauses=(Interval(at(10), at(25)),))
    assert is_paused(f, at(12))
    assert not is_paused(f, at(25))  # half-open: the resume moment is running
    assert remaining(f, at(12)) == mins(80)
    assert deadline(f, at(12)) is None
    assert deadline(f, at(5)) == at(90)  # at 5 min nobody knew of the pause yet


def test_overlapping_candidate_and_room_pauses_count_once() -> None:
    candidate_pause = Interval(at(10), at(30))
    room_pause = Interval(at(20), at(40))
    f = facts(pauses=(candidate_pause, room_pause))
    assert remaining(f, at(50)) == mins(90 - 20)  # 30 minutes excluded, not 40
    assert deadline(f, at(50)) == at(120)


def test_nested_and_adjacent_pauses() -> None:
    f = facts(
        pauses=(
            Interval(at(10), at(40)),
            Interval(at(15), at(20)),  # nested
            Interval(at(40), at(45)),  # adjacent
        )
    )
    assert remaining(f, at(60)) == mins(90 - 25)


def test_pause_before_start_is_clipped() -> None:
    f = facts(pauses=(Interval(at(-10), at(5)),))
    assert remaining(f, at(30)) == mins(65)


def test_extra_time_counts_from_its_grant() -> None:
    f = facts(grants=(Grant(at(60), mins(10)), Grant(at(70), mins(5))))
    assert extra_time(f, at(30)) == timedelta(0)
    assert remaining(f, at(30)) == mins(60)
    assert remaining(f, at(65)) == mins(35)
    assert remaining(f, at(75)) == mins(30)
    assert deadline(f, at(75)) == at(105)


def test_downtime_not_counted_by_default() -> None:
    f = facts(downtimes=(Interval(at(30), at(33)),))
    assert f.downtime_policy is DowntimePolicy.NOT_COUNTED
    assert remaining(f, at(40)) == mins(53)
    assert deadline(f, at(40)) == at(93)
    assert not is_paused(f, at(31))  # downtime is not a pause the client shows


def test_downtime_counted_policy() -> None:
    f = facts(downtimes=(Interval(at(30), at(33)),), downtime_policy=DowntimePolicy.COUNTED)
    assert remaining(f, at(40)) == mins(50)
    assert deadline(f, at(40)) == at(90)


def test_downtime_overlapping_a_pause_is_given_back_once() -> None:
    f = facts(pauses=(Interval(at(20), at(32)),), downtimes=(Interval(at(30), at(35)),))
    assert remaining(f, at(40)) == mins(90 - 40 + 15)


def test_stopped_clock_keeps_the_remaining_at_submission() -> None:
    f = facts(stopped_at=at(42))
    assert remaining(f, at(42)) == mins(48)
    assert remaining(f, at(200)) == mins(48)
    assert deadline(f, at(200)) is None
    assert not is_running(f, at(50))
    assert not is_expired(f, at(200))


def test_deadline_after_expiry_is_the_moment_of_expiry() -> None:
    f = facts(pauses=(Interval(at(10), at(20)),), grants=(Grant(at(50), mins(5)),))
    # 90 + 10 paused + 5 extra: time runs out at 105.
    assert deadline(f, at(104)) == at(105)
    assert is_expired(f, at(105))
    assert deadline(f, at(180)) == at(105)


def test_extra_time_after_expiry_does_not_revive() -> None:
    f = facts(grants=(Grant(at(95), mins(10)),))
    assert is_expired(f, at(96))
    assert remaining(f, at(96)) <= timedelta(0)
    assert remaining_ms(f, at(96)) == 0
    assert deadline(f, at(96)) == at(90)


def test_expiry_during_downtime_with_counted_policy() -> None:
    f = facts(downtimes=(Interval(at(80), at(120)),), downtime_policy=DowntimePolicy.COUNTED)
    assert is_expired(f, at(120))
    assert deadline(f, at(120)) == at(90)


def test_expiry_moment_exact_to_the_microsecond() -> None:
    start = T0 + timedelta(microseconds=7)
    f = ClockFacts(duration=timedelta(seconds=1), started_at=start)
    assert deadline(f, start + timedelta(seconds=5)) == start + timedelta(seconds=1)


def test_non_utc_aware_times_are_fine() -> None:
    beijing = timezone(timedelta(hours=8))
    f = ClockFacts(duration=mins(90), started_at=T0.astimezone(beijing))
    assert remaining(f, at(30)) == mins(60)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ClockFacts(duration=mins(90), started_at=datetime(2024, 5, 18, 9)),
        lambda: Interval(datetime(2024, 5, 18, 9)),
        lambda: Interval(at(10), at(5)),
        lambda: Grant(at(10), timedelta(0)),
        lambda: ClockFacts(duration=timedelta(0)),
    ],
)
def test_bad_facts_are_refused(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        remaining(facts(), datetime(2024, 5, 18, 9))


def test_union_length() -> None:
    intervals = [Interval(at(0), at(10)), Interval(at(5), at(15)), Interval(at(20))]
    assert union_length(intervals, at(0), at(30)) == mins(25)
    assert union_length(intervals, at(12), at(22)) == mins(5)
    assert union_length(intervals, at(30), at(30)) == timedelta(0)
    assert union_length([], at(0), at(30)) == timedelta(0)


# --- property: the closed form agrees with a second-by-second simulation ---------------

interval_strategy = st.tuples(
    st.integers(min_value=-20, max_value=200), st.integers(min_value=0, max_value=60)
)


@settings(max_examples=200, deadline=None)
@given(
    pauses=st.lists(interval_strategy, max_size=4),
    downtimes=st.lists(interval_strategy, max_size=3),
    grants=st.lists(
        st.tuples(st.integers(min_value=0, max_value=200), st.integers(1, 30)), max_size=3
    ),
    counted=st.booleans(),
    now=st.integers(min_value=0, max_value=260),
)
def test_matches_simulation(
    pauses: list[tuple[int, int]],
    downtimes: list[tuple[int, int]],
    grants: list[tuple[int, int]],
    counted: bool,
    now: int,
) -> None:
    def sec(n: int) -> datetime:
        return T0 + timedelta(seconds=n)

    policy = DowntimePolicy.COUNTED if counted else DowntimePolicy.NOT_COUNTED
    f = ClockFacts(
        duration=timedelta(seconds=100),
        started_at=T0,
        pauses=tuple(Interval(sec(s), sec(s + n)) for s, n in pauses),
        downtimes=tuple(Interval(sec(s), sec(s + n)) for s, n in downtimes),
        grants=tuple(Grant(sec(s), timedelta(seconds=n)) for s, n in grants),
        downtime_policy=policy,
    )
    excluded = [(s, s + n) for s, n in pauses]
    if not counted:
        excluded += [(s, s + n) for s, n in downtimes]
    used = sum(1 for t in range(now) if not any(a <= t < b for a, b in excluded))
    extra = sum(n for s, n in grants if s <= now)
    formula = timedelta(seconds=100 + extra - used)
    # Simulated expiry: the first second at which remaining reaches zero.
    left = 100
    expiry = None
    for t in range(now + 1):
        left_here = left + sum(n for s, n in grants if s <= t)
        if left_here <= 0:
            expiry = t
            break
        if not any(a <= t < b for a, b in excluded):
            left -= 1
    if expiry is None:
        assert remaining(f, sec(now)) == formula
        assert not is_expired(f, sec(now))
    else:
        # Expiry is final: a grant after it does not bring the time back.
        assert remaining(f, sec(now)) == min(formula, timedelta(0))
        assert is_expired(f, sec(now))
        assert deadline(f, sec(now)) == sec(expiry)


# --- exact instants: each boundary decided one way, on purpose --------------------------


def test_the_start_instant_is_running_and_the_submission_instant_is_not() -> None:
    f = facts(stopped_at=at(42))
    assert is_running(f, T0)  # time counts from started_at itself
    assert not is_running(f, T0 - timedelta(microseconds=1))
    assert is_running(f, at(42) - timedelta(microseconds=1))
    assert not is_running(f, at(42))  # submitted at this instant: stopped
    assert deadline(f, at(42)) is None


def test_the_deadline_instant_is_expired_and_not_running() -> None:
    f = facts()
    assert is_running(f, at(90) - timedelta(microseconds=1))
    assert not is_running(f, at(90))
    assert is_expired(f, at(90))
    assert remaining_ms(f, at(90)) == 0


def test_the_first_instant_of_a_pause_is_paused() -> None:
    f = facts(pauses=(Interval(at(10), at(25)),))
    assert not is_paused(f, at(10) - timedelta(microseconds=1))
    assert is_paused(f, at(10))
    assert not is_running(f, at(10))
    assert deadline(f, at(10)) is None


def test_a_pause_from_the_very_deadline_does_not_hold_off_expiry() -> None:
    # Time ran out at 90; a pause opened at that instant does not keep the candidate in.
    f = facts(pauses=(Interval(at(90)),))
    assert is_expired(f, at(120))
    assert deadline(f, at(120)) == at(90)
    closed = facts(pauses=(Interval(at(90), at(100)),))
    assert deadline(closed, at(120)) == at(90)


def test_extra_time_granted_at_the_instant_time_runs_out_counts() -> None:
    f = facts(grants=(Grant(at(90), mins(10)),))
    assert not is_expired(f, at(95))
    assert is_running(f, at(95))
    assert remaining(f, at(95)) == mins(5)
    assert deadline(f, at(95)) == at(100)
    assert is_expired(f, at(100))
    # One microsecond late, the same grant no longer revives the candidate.
    late = facts(grants=(Grant(at(90) + timedelta(microseconds=1), mins(10)),))
    assert is_expired(late, at(95))
    assert deadline(late, at(95)) == at(90)


class _NoOffset(tzinfo):
    """A tzinfo that knows no offset: such a datetime is naive by Python's definition."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_a_tzinfo_without_an_offset_counts_as_naive() -> None:
    moment = datetime(2024, 5, 18, 9, tzinfo=_NoOffset())
    with pytest.raises(ValueError, match="must be a timezone-aware datetime"):
        Interval(moment)
    with pytest.raises(ValueError, match="now must be"):
        remaining(facts(), moment)


def test_union_length_adds_every_disjoint_run() -> None:
    runs = [Interval(at(0), at(1)), Interval(at(2), at(4)), Interval(at(5), at(8))]
    assert union_length(runs, at(0), at(10)) == mins(6)
    assert union_length(reversed(runs), at(0), at(10)) == mins(6)
