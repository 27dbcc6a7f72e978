"""Score figures: counts, pass rate, mean and the 10-point bands."""

from __future__ import annotations

import pytest

from cbt_server.paperwork.figures import (
    Scored,
    band_label,
    band_of,
    figures,
    format_rate,
    format_score,
    percent,
)


def s(score: float, max_score: float = 100.0, pass_mark: float = 60.0) -> Scored:
    return Scored(score, max_score, pass_mark, score >= pass_mark)


def test_figures_of_a_room() -> None:
    f = figures([s(95), s(72), s(41), s(60)], absent=1)
    assert (f.sat, f.passed, f.failed, f.absent) == (4, 3, 1, 1)
    assert f.pass_rate == pytest.approx(0.75)
    assert f.mean == 67.0
    assert (f.highest, f.lowest) == (95, 41)
    assert f.bands == (0, 0, 0, 0, 1, 0, 1, 1, 0, 1)
    assert f.pass_mark_pct == 60


def test_nobody_sat() -> None:
    f = figures([], absent=3)
    assert (f.sat, f.passed, f.absent) == (0, 0, 3)
    assert f.pass_rate is None and f.mean is None and f.pass_mark_pct is None
    assert f.bands == (0,) * 10
    assert format_rate(f.pass_rate) == "—"


@pytest.mark.parametrize(
    ("pct", "band"),
    [(0, 0), (9.999999, 0), (10, 1), (59.5, 5), (60, 6), (89.99, 8), (90, 9), (100, 9)],
)
def test_band_edges(pct: float, band: int) -> None:
    assert band_of(pct) == band


def test_scores_are_put_on_a_100_point_scale() -> None:
    # 30 of 50 is 60 %: the 60-69 band, and the pass mark 30/50 sits at 60.
    f = figures([Scored(30, 50, 30, True), Scored(50, 50, 30, True)])
    assert f.bands[6] == 1 and f.bands[9] == 1
    assert f.pass_mark_pct == 60
    assert percent(1, 3) == 33.333333


def test_rounding_does_not_push_a_score_across_a_band() -> None:
    # 0.7 of 1.0 point is 70 %, computed as 69.99999999999999 without rounding.
    assert band_of(percent(0.7, 1.0)) == 7


@pytest.mark.parametrize("bad", [-1, 100.5])
def test_out_of_range_scores_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        band_of(bad)


def test_labels_and_formats() -> None:
    assert [band_label(i) for i in (0, 5, 9)] == ["0–9", "50–59", "90–100"]
    assert format_rate(2 / 3) == "66.7%"
    assert [format_score(v) for v in (60.0, 67.5, 66.667, None)] == ["60", "67.5", "66.67", "—"]
