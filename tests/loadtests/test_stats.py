import math

import pytest

from loadtests.stats import percentile, summarize


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([4, 1, 3, 2], 0.5) == 2.5
    assert percentile([1, 2, 3, 4, 5], 0.5) == 3
    assert percentile([10, 20], 0.25) == 12.5


def test_percentile_ends_are_min_and_max() -> None:
    values = [7.0, 3.0, 9.5, 1.25]
    assert percentile(values, 0.0) == 1.25
    assert percentile(values, 1.0) == 9.5


def test_percentile_matches_p99_of_a_hundred_samples() -> None:
    # 1..100: rank 0.99 * 99 = 98.01 -> 99 + 0.01 * (100 - 99)
    assert percentile(range(1, 101), 0.99) == pytest.approx(99.01)


def test_percentile_of_one_value_and_of_none() -> None:
    assert percentile([42.0], 0.99) == 42.0
    assert percentile([], 0.5) is None


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan])
def test_percentile_refuses_fractions_outside_0_1(bad: float) -> None:
    with pytest.raises(ValueError, match="within 0..1"):
        percentile([1, 2], bad)


def test_summarize_rounds_and_names_points() -> None:
    got = summarize([0.1234, 0.5678, 0.9], {"p50": 0.5, "max": 1.0}, digits=2)
    assert got == {"p50": 0.57, "max": 0.9}
    assert summarize([], {"p99": 0.99}, digits=1) == {"p99": None}
