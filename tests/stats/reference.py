"""The figures of issue 23 computed again, independently and plainly: per-item Python
loops over the documents themselves, SciPy for skewness, kurtosis and correlation."""

from __future__ import annotations

import math
import statistics as pystats
from typing import Any

import numpy as np
from scipy import stats as sps

from cbt_server.stats.compute import BankItem


def assert_same(got: Any, want: Any, where: str) -> None:
    """got equals want: same keys in the same order, floats to 1e-9 relative."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), where
        for key in want:
            assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for n, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{n}]")
    elif isinstance(want, float):
        assert isinstance(got, float), f"{where}: {got!r} is not a number"
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {got} != {want}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def _sd(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    return 0.0 if len(set(values)) == 1 else float(np.std(values, ddof=1))


def exam_figures(docs: list[dict[str, Any]]) -> dict[str, Any]:
    totals = [float(d["score"]) for d in docs]
    n = len(totals)
    flat = len(set(totals)) == 1
    lengths = [len(d["responses"]) for d in docs]
    counts = {k: lengths.count(k) for k in set(lengths)}
    k = max(length for length in counts if counts[length] == max(counts.values()))
    used = [d for d in docs if len(d["responses"]) == k]
    slot_vars = sum(
        pystats.variance([float(d["responses"][s]["score"]) for d in used]) for s in range(k)
    )
    alpha = k / (k - 1) * (1 - slot_vars / pystats.variance([float(d["score"]) for d in used]))
    sd = _sd(totals)
    return {
        "n": n,
        "mean": pystats.fmean(totals),
        "median": pystats.median(totals),
        "sd": sd,
        "min": min(totals),
        "max": max(totals),
        "pass_rate": sum(bool(d["passed"]) for d in docs) / n,
        "skewness": None if flat or n < 3 else float(sps.skew(totals, bias=False)),
        "excess_kurtosis": (
            None if flat or n < 4 else float(sps.kurtosis(totals, fisher=True, bias=False))
        ),
        "alpha": alpha,
        "alpha_n": len(used),
        "alpha_k": k,
        "sem": None if sd is None or alpha < 0 else sd * math.sqrt(1 - alpha),
    }


def _group(docs: list[dict[str, Any]], labels: list[str], pick: Any) -> dict[str, Any]:
    """Figures over the (document, row) pairs that `pick(doc)` yields."""
    seen = [(d, row) for d in docs for row in pick(d)]
    n = len(seen)
    xs = [float(r["score"]) / float(r["max_score"]) for _, r in seen]
    ranked = sorted(seen, key=lambda p: (-float(p[0]["score"]), p[0]["ticket"]))
    rx = [float(r["score"]) / float(r["max_score"]) for _, r in ranked]
    if n >= 10:
        k = math.floor(0.27 * n + 0.5)
        d_index: float | None = sum(rx[:k]) / k - sum(rx[-k:]) / k
    else:
        d_index = None
    rest = [float(d["score"]) - float(r["score"]) for d, r in seen]
    if n < 3 or len(set(xs)) == 1 or len(set(rest)) == 1:
        pb = None
    else:
        pb = float(sps.pearsonr(xs, rest).statistic)
    shares = {label: sum(label in r["response"] for _, r in seen) / n for label in labels}
    for label in sorted({lab for _, r in seen for lab in r["response"]} - set(labels)):
        shares[label] = sum(label in r["response"] for _, r in seen) / n
    facility = sum(xs) / n
    flags = []
    if facility > 0.95:
        flags.append("too_easy")
    if facility < 0.20:
        flags.append("too_hard")
    if pb is not None and pb < 0.20:
        flags.append("low_discrimination")
    if pb is not None and pb < 0:
        flags.append("negative_discrimination")
    return {
        "n": n,
        "facility": facility,
        "sd": _sd(xs),
        "discrimination_index": d_index,
        "point_biserial": pb,
        "options": shares,
        "omitted": sum(not r["response"] for _, r in seen) / n,
        "flags": flags,
    }


def item_figures(docs: list[dict[str, Any]], bank: dict[str, BankItem]) -> dict[str, Any]:
    ids = sorted({r["item_id"] for d in docs for r in d["responses"]})
    out = {}
    for item_id in ids:
        known = bank.get(item_id)
        figures = _group(
            docs,
            list(known.labels) if known else [],
            lambda d, i=item_id: [r for r in d["responses"] if r["item_id"] == i],
        )
        figures["type"] = known.type if known else None
        figures["labels"] = list(known.labels) if known else None
        out[item_id] = figures
    return out


def slot_figures(docs: list[dict[str, Any]], bank: dict[str, BankItem]) -> list[dict[str, Any]]:
    out = []
    for s in range(max(len(d["responses"]) for d in docs)):
        ids = sorted({d["responses"][s]["item_id"] for d in docs if len(d["responses"]) > s})
        labels = list(dict.fromkeys(lab for i in ids if i in bank for lab in bank[i].labels))
        figures = _group(docs, labels, lambda d, s=s: d["responses"][s : s + 1])
        types = {bank[i].type if i in bank else None for i in ids}
        out.append(
            {
                "slot": s + 1,
                "item_ids": ids,
                "type": types.pop() if len(types) == 1 else None,
                **figures,
            }
        )
    return out
