"""The figures of issue 23 from `ResultArrays`: pure NumPy, no I/O, no loop over candidates.

Definitions (docs/statistics.md): sample standard deviations (n − 1); x = item score /
item max score; the discrimination index ranks by total descending, ties by ticket
ascending, k = floor(0.27·n + 0.5); the point-biserial correlation is the corrected
item-total one (x against total − item score); alpha is over slots of the most common
paper length. A figure that is undefined is None (JSON null), never NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cbt_server.stats.arrays import Floats, Ints, ResultArrays

DISCRIMINATION_SHARE = 0.27
MIN_FOR_DISCRIMINATION = 10
TOO_EASY, TOO_HARD, LOW_DISCRIMINATION = 0.95, 0.20, 0.20


@dataclass(frozen=True, slots=True)
class BankItem:
    """What the bank says of an item and results do not carry: its type and option labels."""

    type: str
    labels: tuple[str, ...]


def _num(value: Any) -> float | None:
    number = float(value)
    return None if math.isnan(number) else number


def exam_figures(a: ResultArrays) -> dict[str, Any]:
    """n, mean, median, sd, min, max, pass_rate, skewness, excess_kurtosis, alpha, sem."""
    t, n = a.totals, a.n
    if n == 0:
        empty: dict[str, Any] = dict.fromkeys(
            ("mean", "median", "sd", "min", "max", "pass_rate", "skewness", "excess_kurtosis")
        )
        return {"n": 0, **empty, "alpha": None, "alpha_n": 0, "alpha_k": None, "sem": None}
    mean = float(t.mean())
    constant = bool(t.min() == t.max())
    sd = None if n < 2 else (0.0 if constant else float(t.std(ddof=1)))
    skew = kurt = None
    if not constant:
        d = t - mean
        m2, m3, m4 = float((d**2).mean()), float((d**3).mean()), float((d**4).mean())
        if n >= 3:
            skew = m3 / m2**1.5 * math.sqrt(n * (n - 1)) / (n - 2)
        if n >= 4:
            g2 = m4 / m2**2 - 3.0
            kurt = ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))
    alpha, alpha_n, k = cronbach_alpha(a)
    sem = None
    if alpha is not None and sd is not None and 0 <= alpha <= 1:
        sem = sd * math.sqrt(1.0 - alpha)
    return {
        "n": n,
        "mean": mean,
        "median": float(np.median(t)),
        "sd": sd,
        "min": float(t.min()),
        "max": float(t.max()),
        "pass_rate": float(a.passed.mean()),
        "skewness": skew,
        "excess_kurtosis": kurt,
        "alpha": alpha,
        "alpha_n": alpha_n,
        "alpha_k": k,
        "sem": sem,
    }


def common_length(lengths: Ints) -> int | None:
    """The most common paper length (the longest of equally common ones); None if none."""
    if lengths.size == 0:
        return None
    counts = np.bincount(lengths)
    return int(np.flatnonzero(counts == counts.max())[-1])


def cronbach_alpha(a: ResultArrays) -> tuple[float | None, int, int | None]:
    """(alpha, candidates used, K) over the slots of papers of the most common length K."""
    k = common_length(a.lengths)
    if k is None:
        return None, 0, None
    chosen = a.lengths == k
    used = int(chosen.sum())
    if k < 2 or used < 2:
        return None, used, k
    row = np.cumsum(chosen) - 1  # the candidate's row among those used
    keep = chosen[a.cand]
    grid = np.zeros((used, k))
    grid[row[a.cand[keep]], a.slot[keep]] = a.score[keep]
    totals = a.totals[chosen]
    if totals.min() == totals.max():
        return None, used, k
    slot_var = float(grid.var(axis=0, ddof=1).sum())
    return k / (k - 1) * (1.0 - slot_var / float(totals.var(ddof=1))), used, k


def candidate_ranks(a: ResultArrays) -> Ints:
    """Each candidate's place when ranked by total descending, ties by ticket ascending."""
    _, ticket_order = np.unique(a.tickets, return_inverse=True)
    order = np.lexsort((ticket_order, -a.totals))
    ranks = np.empty(a.n, np.int64)
    ranks[order] = np.arange(a.n)
    return ranks


def item_x(a: ResultArrays) -> Floats:
    """x = score / max_score per entry (0 where the item is worth nothing)."""
    x = np.zeros_like(a.score)
    np.divide(a.score, a.max_score, out=x, where=a.max_score != 0)
    return x


@dataclass(frozen=True, slots=True)
class GroupFigures:
    """Per-group (item or slot) arrays; NaN where a figure is undefined."""

    n: Ints
    facility: Floats
    sd: Floats
    discrimination: Floats
    point_biserial: Floats
    chosen: Ints  # (groups, len(combos)) how many gave each distinct response


def group_figures(
    a: ResultArrays, group: Ints, groups: int, x: Floats, ranks: Ints
) -> GroupFigures:
    """Facility, sd, D and corrected point-biserial for each group of entries."""
    n = np.bincount(group, minlength=groups)
    order = np.lexsort((ranks[a.cand], group))  # by group, best candidate first
    xs, gs = x[order], group[order]
    rest = (a.totals[a.cand] - a.score)[order]
    starts = np.cumsum(n) - n
    seen = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        facility = np.bincount(gs, weights=xs, minlength=groups) / n
        mean_rest = np.bincount(gs, weights=rest, minlength=groups) / n
        dx, dy = xs - facility[gs], rest - mean_rest[gs]
        sxx = np.bincount(gs, weights=dx * dx, minlength=groups)
        syy = np.bincount(gs, weights=dy * dy, minlength=groups)
        sxy = np.bincount(gs, weights=dx * dy, minlength=groups)
        x_flat = _constant(xs, starts, n)
        y_flat = _constant(rest, starts, n)
        sd = np.where(n > 1, np.sqrt(sxx / (n - 1)), np.nan)
        sd[x_flat & (n > 1)] = 0.0
        r = np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0)
        r[(n < 3) | x_flat | y_flat] = np.nan
    facility[~seen] = np.nan
    combos = max(len(a.combos), 1)
    chosen = np.bincount(group * combos + a.combo, minlength=groups * combos)
    return GroupFigures(
        n=n,
        facility=facility,
        sd=sd,
        discrimination=_discrimination(xs, starts, n),
        point_biserial=r,
        chosen=chosen.reshape(groups, combos),
    )


def _constant(values: Floats, starts: Ints, n: Ints) -> NDArray[np.bool_]:
    """Whether each group's values are all equal (groups given as sorted blocks)."""
    flat = np.ones(n.shape, bool)
    seen = n > 0
    if values.size:
        lo = np.minimum.reduceat(values, starts[seen])
        hi = np.maximum.reduceat(values, starts[seen])
        flat[seen] = lo == hi
    return flat


def _discrimination(xs: Floats, starts: Ints, n: Ints) -> Floats:
    """Mean x of the first k minus that of the last k in each block (k = ⌊0.27n + ½⌋)."""
    d = np.full(n.shape, np.nan)
    big = n >= MIN_FOR_DISCRIMINATION
    if not big.any():
        return d
    k = np.floor(DISCRIMINATION_SHARE * n[big] + 0.5).astype(np.int64)
    s, e = starts[big], starts[big] + n[big]
    padded = np.append(xs, 0.0)  # reduceat's bounds may be len(xs)
    top = np.add.reduceat(padded, np.ravel(np.column_stack((s, s + k))))[0::2]
    bottom = np.add.reduceat(padded, np.ravel(np.column_stack((e - k, e))))[0::2]
    d[big] = (top - bottom) / k
    return d


def flags(facility: float | None, point_biserial: float | None) -> list[str]:
    """The flags a figure raises; a null figure raises none."""
    raised = []
    if facility is not None and facility > TOO_EASY:
        raised.append("too_easy")
    if facility is not None and facility < TOO_HARD:
        raised.append("too_hard")
    if point_biserial is not None and point_biserial < LOW_DISCRIMINATION:
        raised.append("low_discrimination")
    if point_biserial is not None and point_biserial < 0:
        raised.append("negative_discrimination")
    return raised


def _shares(
    labels: Sequence[str], chosen: Ints, combos: Sequence[tuple[str, ...]], n: int
) -> tuple[dict[str, float], float]:
    """Share of the n choosing each label (labels seen but unknown to the bank added,
    sorted), and the share with an empty response."""
    counts: dict[str, int] = dict.fromkeys(labels, 0)
    extra: dict[str, int] = {}
    omitted = 0
    for index in np.flatnonzero(chosen).tolist():
        combo, count = combos[index], int(chosen[index])
        if not combo:
            omitted += count
        for label in set(combo):
            if label in counts:
                counts[label] += count
            else:
                extra[label] = extra.get(label, 0) + count
    counts.update(sorted(extra.items()))
    return {label: c / n for label, c in counts.items()}, omitted / n


def _entry(g: GroupFigures, i: int) -> dict[str, Any]:
    facility, pb = _num(g.facility[i]), _num(g.point_biserial[i])
    return {
        "n": int(g.n[i]),
        "facility": facility,
        "sd": _num(g.sd[i]),
        "discrimination_index": _num(g.discrimination[i]),
        "point_biserial": pb,
        "flags": flags(facility, pb),
    }


def statistics(a: ResultArrays, bank: Mapping[str, BankItem] | None = None) -> dict[str, Any]:
    """The whole answer but `selection`: {"test", "items", "slots"}."""
    bank = bank or {}
    x, ranks = item_x(a), candidate_ranks(a)
    by_item = group_figures(a, a.item, len(a.item_ids), x, ranks)
    items: dict[str, Any] = {}
    for i, item_id in enumerate(a.item_ids):
        known = bank.get(item_id)
        entry = _entry(by_item, i)
        options, omitted = _shares(
            known.labels if known else (), by_item.chosen[i], a.combos, entry["n"]
        )
        items[item_id] = {
            "n": entry["n"],
            "type": known.type if known else None,
            "labels": list(known.labels) if known else None,
            **{k: v for k, v in entry.items() if k not in ("n", "flags")},
            "options": options,
            "omitted": omitted,
            "flags": entry["flags"],
        }
    slot_count = int(a.lengths.max()) if a.n else 0
    by_slot = group_figures(a, a.slot, slot_count, x, ranks)
    pairs = np.unique(a.slot * max(len(a.item_ids), 1) + a.item)
    slot_items: list[list[str]] = [[] for _ in range(slot_count)]
    for pair in pairs.tolist():
        slot_items[pair // max(len(a.item_ids), 1)].append(a.item_ids[pair % len(a.item_ids)])
    slots = []
    for s in range(slot_count):
        ids = slot_items[s]
        types = {bank[i].type if i in bank else None for i in ids}
        labels = [label for i in ids if i in bank for label in bank[i].labels]
        entry = _entry(by_slot, s)
        options, omitted = _shares(
            list(dict.fromkeys(labels)), by_slot.chosen[s], a.combos, entry["n"]
        )
        slots.append(
            {
                "slot": s + 1,
                "item_ids": ids,
                "n": entry["n"],
                "type": types.pop() if len(types) == 1 else None,
                **{k: v for k, v in entry.items() if k not in ("n", "flags")},
                "options": options,
                "omitted": omitted,
                "flags": entry["flags"],
            }
        )
    return {"test": exam_figures(a), "items": items, "slots": slots}
