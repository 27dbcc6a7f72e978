"""Score figures of a session: counts, pass rate, mean, and the 10-point histogram.

Pure: takes the results' scores, returns numbers. Scores are placed on a 100-point scale
(score / max_score * 100) before banding, so a paper worth other than 100 still bands
the same way; 100 falls into the top band (90–100).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BAND_COUNT = 10


@dataclass(frozen=True, slots=True)
class Scored:
    score: float
    max_score: float
    pass_mark: float
    passed: bool


@dataclass(frozen=True, slots=True)
class ScoreFigures:
    sat: int
    """Candidates with a graded result."""
    passed: int
    absent: int
    mean: float | None
    highest: float | None
    lowest: float | None
    bands: tuple[int, ...]
    """Counts per 10-point band on the 100-point scale: 0–9, 10–19, …, 90–100."""
    pass_mark_pct: float | None
    """The pass mark on the 100-point scale (None without results)."""

    @property
    def failed(self) -> int:
        return self.sat - self.passed

    @property
    def pass_rate(self) -> float | None:
        """Passed / sat, as a fraction (None when nobody sat)."""
        return self.passed / self.sat if self.sat else None


def percent(score: float, max_score: float) -> float:
    if max_score <= 0:
        raise ValueError(f"max_score must be positive: {max_score}")
    return round(score / max_score * 100, 6)


def band_of(pct: float) -> int:
    if pct < 0 or pct > 100:
        raise ValueError(f"score outside 0..100 percent: {pct}")
    return min(int(pct // 10), BAND_COUNT - 1)


def band_label(index: int) -> str:
    low = index * 10
    return f"{low}–{low + 9}" if index < BAND_COUNT - 1 else f"{low}–100"


def figures(results: Sequence[Scored], absent: int = 0) -> ScoreFigures:
    bands = [0] * BAND_COUNT
    for result in results:
        bands[band_of(percent(result.score, result.max_score))] += 1
    scores = [r.score for r in results]
    return ScoreFigures(
        sat=len(results),
        passed=sum(1 for r in results if r.passed),
        absent=absent,
        mean=round(sum(scores) / len(scores), 2) if scores else None,
        highest=max(scores) if scores else None,
        lowest=min(scores) if scores else None,
        bands=tuple(bands),
        pass_mark_pct=percent(results[0].pass_mark, results[0].max_score) if results else None,
    )


def format_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def format_score(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")
