"""Percentiles and summaries of timing samples (pure)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """The `fraction` quantile (0..1) by linear interpolation between closest ranks.

    This is the "linear" method of numpy and of `statistics.quantiles(method="inclusive")`:
    p50 of [1, 2, 3, 4] is 2.5; p100 is the maximum. None when there are no values.
    """
    if not 0.0 <= fraction <= 1.0 or math.isnan(fraction):
        raise ValueError(f"fraction must be within 0..1: {fraction!r}")
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    weight = position - low
    return ordered[low] + (ordered[high] - ordered[low]) * weight


def summarize(
    values: Sequence[float], points: dict[str, float], *, digits: int
) -> dict[str, float | None]:
    """{name: quantile rounded to `digits`} for each named fraction, e.g. {"p50": 0.5}."""
    summary: dict[str, float | None] = {}
    for name, fraction in points.items():
        value = percentile(values, fraction)
        summary[name] = None if value is None else round(value, digits)
    return summary
