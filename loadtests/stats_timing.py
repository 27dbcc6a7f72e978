"""How long item and test statistics take for a season across a city, as one JSON document.

    python -m loadtests.stats_timing [--results 30000] [--items 100] [--pool 400]

Generates `--results` result documents of `--items` items each, drawn from a pool of
`--pool` items (single, true/false and partial-credit multiple choice; abilities and
difficulties from a logistic model, so the figures look like a real exam's), then times:
`documents_to_arrays_s` (decoding the documents' JSON lines, as `centre pull` keeps
them, into arrays, `stats.arrays`), and
`compute_s` (every figure, `stats.compute.statistics`), with the peak resident memory of
the process (`peak_rss_mb`: documents are generated and read 2,000 at a time, as the
database edge streams them) and the
memory the arrays take (`arrays_mb`). The target (issue 23): under 10 s on one core and
under 1 GB for 30,000 × 100. See docs/performance.md.

With `--db`, the results are first stored in a fresh SQLite database (in the grader's
stored form, through the feed triggers) and the whole of GET /api/v1/statistics' work is
timed, `selection_statistics`: reading the pages, parsing their JSON, the bank look-up
and every figure (`db_wall_s`, `db_cpu_s`; `db_bytes` is the database file's size), in
a fresh process whose peak resident memory is `db_peak_rss_mb` (`db_rss_before_mb` of
it the interpreter and its imports).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

from cbt_server.content_crypto import ContentCipher
from cbt_server.db import models
from cbt_server.db.migrate import migrated
from cbt_server.enrolment.sample import sample_exam
from cbt_server.enrolment.sessions import SessionSpec
from cbt_server.results.feed import Filters
from cbt_server.settings import load_settings
from cbt_server.stats.arrays import ArrayBuilder, ResultArrays, decode_result
from cbt_server.stats.compute import statistics
from cbt_server.stats.load import selection_statistics

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
    for batch in generate(results, items, pool):  # as the centre's files hold them
        lines = [json.dumps(d, ensure_ascii=False).encode("utf-8") for d in batch]
        started = time.process_time()
        builder.add([decode_result(line) for line in lines])
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
        "peak_rss_mb": _peak_mb(),
        "alpha": figures["test"]["alpha"],
    }


def _stored(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A published document's items in the form the grader stores them."""
    return [
        {
            "item_id": row["item_id"],
            "type": "single",
            "response": row["response"],
            "correct": row["correct"],
            "outcome": "correct" if row["correct"] else "wrong",
            "score": float(row["score"]),
            "max_score": float(row["max_score"]),
            "option_order": ["A", "B", "C", "D"],
        }
        for row in document["responses"]
    ]


def _database_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.sqlite3*"))


async def measure_db(results: int, items: int, pool: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({}, data_dir=folder)
        now = datetime.now(UTC)
        async with migrated(settings) as sessionmaker:
            async with sessionmaker.begin() as db:
                db.add(
                    models.Blueprint(
                        id="bp", title="bench", occupation="electrician", level=3, spec={}
                    )
                )
                await db.flush()
                spec = SessionSpec(code="BENCH", blueprint_id="bp", room_code="R", seats=40)
                exam = await sample_exam(db, spec, seed="bench")
            stored = 0
            for batch in generate(results, items, pool):
                first = stored
                async with sessionmaker.begin() as db:
                    await db.execute(
                        insert(models.Candidate),
                        [
                            {
                                "id": first + n + 1,
                                "ticket": d["ticket"],
                                "id_number": "330204199001011234",
                                "name": "考生",
                                "occupation": "electrician",
                                "level": 3,
                                "session_id": exam.id,
                                "seat": first + n + 1,
                            }
                            for n, d in enumerate(batch)
                        ],
                    )
                    await db.execute(
                        insert(models.Paper),
                        [
                            {
                                "id": f"P{first + n + 1}",
                                "candidate_id": first + n + 1,
                                "session_id": exam.id,
                                "blueprint_id": "bp",
                                "seed": "s",
                                "layout": {},
                            }
                            for n in range(len(batch))
                        ],
                    )
                    await db.execute(
                        insert(models.Result),
                        [
                            {
                                "candidate_id": first + n + 1,
                                "session_id": exam.id,
                                "paper_id": f"P{first + n + 1}",
                                "score": float(d["score"]),
                                "max_score": float(items),
                                "pass_mark": 0.6 * items,
                                "passed": d["passed"],
                                "submitted_at": now,
                                "graded_at": now,
                                "submit_reason": "candidate",
                                "responses": _stored(d),
                            }
                            for n, d in enumerate(batch)
                        ],
                    )
                stored += len(batch)
        # The read is timed in a fresh interpreter, so its peak memory is its own.
        with multiprocessing.get_context("spawn").Pool(1) as child:
            timed: dict[str, Any] = child.apply(timed_read, (folder,))
        timed["db_bytes"] = _database_bytes(Path(folder))
    return timed


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM (reset by exec, unlike ru_maxrss,
    which a spawned child inherits from the fork before its exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def timed_read(folder: str) -> dict[str, Any]:
    """GET /api/v1/statistics' work on the database in `folder`, timed (a child process)."""
    settings = load_settings({}, data_dir=folder)
    cipher = ContentCipher.from_data_dir(settings.data_path)

    async def read() -> dict[str, Any]:
        async with migrated(settings) as sessionmaker:
            return await selection_statistics(sessionmaker, cipher, Filters(session="BENCH"))

    base_rss = _peak_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    answer = asyncio.run(read())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "db_results": answer["selection"]["results"],
        "db_wall_s": round(wall, 3),
        "db_cpu_s": round(cpu, 3),
        "db_peak_rss_mb": _peak_mb(),
        "db_rss_before_mb": base_rss,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=30_000)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--pool", type=int, default=400)
    parser.add_argument("--db", action="store_true", help="Also time it from a database.")
    args = parser.parse_args(argv)
    figures = measure(args.results, args.items, args.pool)
    if args.db:
        figures |= asyncio.run(measure_db(args.results, args.items, args.pool))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
