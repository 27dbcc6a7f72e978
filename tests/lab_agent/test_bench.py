"""The CPU benchmark: deterministic work, time-boxed scoring, and the i3 baseline."""

from __future__ import annotations

import itertools

import pytest

from lab_agent import bench
from lab_agent.bench import Baseline, BenchmarkError


def test_work_unit_gives_the_same_results_every_time() -> None:
    first = bench.work_unit()
    assert bench.work_unit() == first
    packed, total, residue = first
    assert 0 < packed < 12288  # zlib really compressed the text
    assert total == pytest.approx(17091075.614526883)
    assert residue == 925488


def test_run_for_counts_units_per_second_of_the_clock() -> None:
    ticks = itertools.count(0.0, 0.25)  # every unit "takes" 0.25 s on this fake clock
    elapsed_seen: list[float] = []
    score = bench.run_for(1.0, elapsed_seen.append, clock=lambda: next(ticks))
    assert score == pytest.approx(4.0)
    assert elapsed_seen == [0.25, 0.5, 0.75, 1.0]


def test_run_for_rejects_a_unit_that_changes_its_result(monkeypatch: pytest.MonkeyPatch) -> None:
    results = iter([(1, 1.0, 1), (1, 1.0, 1), (1, 1.5, 1)])
    monkeypatch.setattr(bench, "work_unit", lambda: next(results))
    with pytest.raises(BenchmarkError, match="different results"):
        bench.run_for(10.0)


def test_multi_core_runs_one_process_per_worker_and_sums_them() -> None:
    single = bench.run_for(0.3)
    multi = bench.score_multi(0.3, 2)
    # Two processes together must beat one alone unless the machine is saturated; allow
    # heavy noise on a shared machine but catch a sum that was never made.
    assert multi > 0.5 * single


def test_measure_rounds_and_reports_workers() -> None:
    result = bench.measure(0.2, 1)
    assert result.workers == 1
    assert result.score_single > 0 and result.score_multi > 0
    assert round(result.score_single, 1) == result.score_single


def test_multi_core_needs_a_worker() -> None:
    with pytest.raises(BenchmarkError, match="at least one worker"):
        bench.score_multi(0.1, 0)


def test_baseline_needs_both_scores() -> None:
    baseline = Baseline(single=350, multi=850)
    assert baseline.met_by(350, 850)
    assert not baseline.met_by(349.9, 2000)
    assert not baseline.met_by(1000, 849.9)


def test_baseline_from_environment() -> None:
    env = {bench.ENV_BASELINE_SINGLE: "500", bench.ENV_BASELINE_MULTI: " "}
    assert Baseline.from_env(env) == Baseline(500.0, bench.BASELINE_MULTI)
    assert Baseline.from_env({}) == Baseline(bench.BASELINE_SINGLE, bench.BASELINE_MULTI)


@pytest.mark.parametrize("raw", ["fast", "-1", "0", "inf", "nan"])
def test_baseline_from_environment_refuses_nonsense(raw: str) -> None:
    with pytest.raises(BenchmarkError, match=bench.ENV_BASELINE_SINGLE):
        Baseline.from_env({bench.ENV_BASELINE_SINGLE: raw})
