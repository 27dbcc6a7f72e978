"""Requirement checks on one report: thresholds, boundaries and the reasons given."""

from __future__ import annotations

from typing import Any

import pytest

from lab_agent import checks
from lab_agent.bench import Baseline
from lab_agent.checks import CHECK_NAMES, evaluate
from tests.lab_agent.reports import report

BASELINE = Baseline(single=350, multi=850)


def by_name(data: dict[str, Any], baseline: Baseline = BASELINE) -> dict[str, checks.Check]:
    return {c.name: c for c in evaluate(data, baseline)}


def test_a_good_pc_passes_every_check_in_a_fixed_order() -> None:
    result = evaluate(report(), BASELINE)
    assert [c.name for c in result] == list(CHECK_NAMES)
    assert all(c.passed for c in result), [c for c in result if not c.passed]


def test_cpu_below_the_i3_baseline_fails_with_the_scores_in_the_reason() -> None:
    cpu = by_name(report(cpu__score_single=210.4, cpu__score_multi=900.0))["cpu"]
    assert not cpu.passed
    assert cpu.detail == "slower than an entry Core i3: single-core score 210.4 < 350"
    both = by_name(report(cpu__score_single=200.0, cpu__score_multi=400.0))["cpu"]
    assert "single-core score 200.0 < 350" in both.detail
    assert "multi-core score 400.0 < 850" in both.detail


def test_cpu_is_judged_by_score_not_by_name() -> None:
    # A Zhaoxin CPU fast enough passes; an "i7" slower than the baseline fails.
    zhaoxin = report(cpu__model="ZHAOXIN KaiXian KX-U6780A@2.7GHz")
    assert by_name(zhaoxin)["cpu"].passed
    slow_i7 = report(cpu__model="Intel Core i7-920", cpu__score_single=100.0)
    assert not by_name(slow_i7)["cpu"].passed


@pytest.mark.parametrize(
    ("memory", "passed"), [(3.5, True), (3.49, False), (7.8, True), (None, False)]
)
def test_memory_needs_4_gb_installed(memory: float | None, passed: bool) -> None:
    check = by_name(report(memory_gb=memory))["memory"]
    assert check.passed is passed
    if memory is not None and not passed:
        assert check.detail.startswith("too little memory: 3.49 GiB")


@pytest.mark.parametrize(("free", "passed"), [(2.0, True), (1.99, False), (None, False)])
def test_disk_needs_2_gb_free(free: float | None, passed: bool) -> None:
    assert by_name(report(disk_free_gb=free))["disk"].passed is passed


@pytest.mark.parametrize(
    ("screen", "passed", "detail"),
    [
        ("1024x768", True, "1024x768 (needs 1024x768)"),
        ("1366x768", True, "1366x768 (needs 1024x768)"),
        ("1280x720", False, "1280x720 is smaller than 1024x768"),
        ("800x600", False, "800x600 is smaller than 1024x768"),
    ],
)
def test_screen_needs_1024x768(screen: str, passed: bool, detail: str) -> None:
    check = by_name(report(screen=screen))["screen"]
    assert (check.passed, check.detail) == (passed, detail)


def test_an_unmeasured_screen_passes_but_says_so() -> None:
    check = by_name(report(screen="unknown"))["screen"]
    assert check.passed
    assert check.detail.startswith("not measured")


@pytest.mark.parametrize(
    ("browsers", "passed", "words"),
    [
        ([{"name": "firefox", "version": "115.6.0", "path": "x"}], True, "Firefox 115.6.0"),
        ([{"name": "edge", "version": None, "path": "x"}], True, "version not read"),
        ([{"name": "chrome", "version": "49.0.2623.112", "path": "x"}], False, "too old"),
        ([{"name": "360se", "version": "13.1", "path": "x"}], False, "not supported"),
        ([], False, "no browser found"),
    ],
)
def test_a_supported_browser_must_be_installed(
    browsers: list[dict[str, Any]], passed: bool, words: str
) -> None:
    check = by_name(report(browsers=browsers))["browser"]
    assert check.passed is passed
    assert words in check.detail


@pytest.mark.parametrize(("mbps", "passed"), [(8.5, True), (8.49, False), (94.1, True)])
def test_link_needs_what_a_10_mbit_line_carries(mbps: float, passed: bool) -> None:
    result = by_name(report(link={"down_mbps": mbps, "up_mbps": mbps, "rtt_ms": 1.0}))
    assert result["link_down"].passed is passed
    assert result["link_up"].passed is passed
    if not passed:
        assert result["link_down"].detail.startswith("link too slow: download")


@pytest.mark.parametrize(("rtt", "passed"), [(50.0, True), (50.01, False)])
def test_round_trip_at_most_50_ms(rtt: float, passed: bool) -> None:
    result = by_name(report(link={"down_mbps": 50.0, "up_mbps": 50.0, "rtt_ms": rtt}))
    assert result["rtt"].passed is passed


def test_missing_measurements_fail_as_not_measured() -> None:
    result = by_name({"hostname": "x"})
    assert not any(result[name].passed for name in CHECK_NAMES if name != "screen")
    assert result["cpu"].detail == "benchmark not run"
    assert result["link_up"].detail == "upload to the server not measured"
