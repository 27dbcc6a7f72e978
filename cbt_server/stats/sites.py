"""The centre's view of an item across sites: its facility at each site side by side.

An item that is easy at one site only is a leak signal (its content may have reached
that site's candidates before the exam). Pooled over every session of each site's
results that used the item; the gap is a site's facility minus that of all other sites
together, counted only where both sides have at least `MIN_SIDE` candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cbt_server.stats.arrays import ResultArrays
from cbt_server.stats.compute import item_x

MIN_SIDE = 10
SITE_GAP = 0.25  # a gap this large raises the `site_outlier` flag


def compare_sites(sites: Mapping[str, ResultArrays]) -> dict[str, Any]:
    """{"sites": [...], "items": {item_id: {n, facility, sites: {site: {n, facility}},
    max_gap, max_gap_site, flags}}}, items ordered by max_gap, largest first."""
    names = sorted(sites)
    item_ids = sorted({i for a in sites.values() for i in a.item_ids})
    index = {item_id: n for n, item_id in enumerate(item_ids)}
    counts = np.zeros((len(names), len(item_ids)))
    sums = np.zeros((len(names), len(item_ids)))
    for row, name in enumerate(names):
        a = sites[name]
        codes = np.array([index[i] for i in a.item_ids], dtype=np.int64)[a.item]
        counts[row] = np.bincount(codes, minlength=len(item_ids))
        sums[row] = np.bincount(codes, weights=item_x(a), minlength=len(item_ids))
    n, total = counts.sum(axis=0), sums.sum(axis=0)
    rest_n, rest_sum = n - counts, total - sums
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = sums / counts - rest_sum / rest_n
    gap[(counts < MIN_SIDE) | (rest_n < MIN_SIDE)] = np.nan
    items: dict[str, Any] = {}
    for col, item_id in enumerate(item_ids):
        column = gap[:, col]
        best = None if np.isnan(column).all() else int(np.nanargmax(column))
        max_gap = None if best is None else float(column[best])
        items[item_id] = {
            "n": int(n[col]),
            "facility": float(total[col] / n[col]),
            "sites": {
                name: {
                    "n": int(counts[row, col]),
                    "facility": (
                        float(sums[row, col] / counts[row, col]) if counts[row, col] else None
                    ),
                }
                for row, name in enumerate(names)
            },
            "max_gap": max_gap,
            "max_gap_site": None if best is None else names[best],
            "flags": ["site_outlier"] if max_gap is not None and max_gap >= SITE_GAP else [],
        }
    ordered = sorted(items, key=lambda i: -(items[i]["max_gap"] or -np.inf))
    return {"sites": names, "items": {item_id: items[item_id] for item_id in ordered}}
