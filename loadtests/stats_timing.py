"""How long item and test statistics take for a season across a city, as one JSON document.

    python -m loadtests.stats_timing [--results 30000] [--items 100] [--pool 400]

Generates `--results` result documents of `--items` items each, drawn from a pool of
`--pool` items (single, true/false and partial-credit multiple choice; abilities and
difficulties from a logistic model, so the figures look like a real exam's), then times:
`documents_to_arrays_s` (reading the documents into arrays, `stats.arrays`), and
`compute_s` (every figure, `stats.compute.statistics`), with the peak resident memory of
the process (`peak_rss_mb`: documents are generated and read 2,000 at a time, as the
database edge streams them) and the
memory the arrays take (`arrays_mb`). The target (issue 23): under 10 s on one core and
under 1 GB for 30,000 × 100. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from cbt_server.stats.arrays import ArrayBuilder, ResultArrays
from cbt_server.stats.compute import statistics

LABELS = ("A", "B", "C", "D")


def generate(
    results: int, items: int, pool: int, seed: int = 23, batch: int = 2000
) -> Iterator[list[dict[str, Any]]]:
    """Published-form result documents (scores as two-place strings), in batches."""
    rng = np.random.default_rng(seed)
    ability = rng.normal(0.0, 1.0, results)
    difficulty = rng.normal(0.0, 1.2, pool)
    kinds = rng.choice(["single", "true_false", "multiple"], pool, p=[0.6, 0.25, 0.15])
    documents: list[dict[str, Any]] = []
    for c in range(results):
        if len(documents) == batch:
            yield documents
            documents = []
        paper = rng.choice(pool, items, replace=False)
        p = 1.0 / (1.0 + np.exp(difficulty[paper] - ability[c]))
        right = rng.random(items) < p
        rows = []
        total = 0.0
        for item, ok in zip(paper.tolist(), right.tolist(), strict=True):
            kind = kinds[item]
            if kind == "true_false":
                response = ["true"] if ok else ["false"]
                score, worth = (1.0 if ok else 0.0), 1.0
            elif kind == "single":
                response = ["A"] if ok else [LABELS[1 + item % 3]]
                score, worth = (1.0 if ok else 0.0), 1.0
            else:
                response = ["A", "B"] if ok else ["A"]
                score, worth = (2.0 if ok else 1.0), 2.0
            if not ok and item % 17 == 0:
                response, score = [], 0.0
            rows.append(
                {
                    "item_id": f"item-{item:04d}",
                    "response": response,
                    "correct": ok,
                    "score": f"{score:.2f}",
                    "max_score": f"{worth:.2f}",
                }
            )
            total += score
        documents.append(
            {
                "ticket": f"T{c:07d}",
                "score": f"{total:.2f}",
                "passed": total >= 0.6 * items,
                "responses": rows,
            }
        )
    yield documents


def arrays_mb(a: ResultArrays) -> float:
    sizes = [v.nbytes for v in vars_of(a) if isinstance(v, np.ndarray)]
    return round(sum(sizes) / 2**20, 1)


def vars_of(a: ResultArrays) -> list[Any]:
    return [getattr(a, name) for name in a.__slots__]


def measure(results: int, items: int, pool: int) -> dict[str, Any]:
    builder = ArrayBuilder()
    read_s = 0.0
    for batch in generate(results, items, pool):  # as the database edge streams them
        started = time.process_time()
        builder.add(batch)
        read_s += time.process_time() - started
    started = time.process_time()
    arrays = builder.build()
    read_s += time.process_time() - started
    started = time.process_time()
    figures = statistics(arrays)
    compute_s = time.process_time() - started
    return {
        "results": results,
        "items_per_paper": items,
        "pool": pool,
        "documents_to_arrays_s": round(read_s, 3),
        "compute_s": round(compute_s, 3),
        "total_cpu_s": round(read_s + compute_s, 3),
        "arrays_mb": arrays_mb(arrays),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "alpha": figures["test"]["alpha"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=30_000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--pool", type=int, default=400)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.results, args.items, args.pool), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
