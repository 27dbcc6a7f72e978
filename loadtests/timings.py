"""How long the things the unit tests only order take, printed as one JSON document.

The unit tests say what happens (a read under a held write lock returns without waiting
for it; `stop_tasks` gives up on a task that ignores its cancellation; the sweeper's
passes stay SWEEP_GAP apart however many wakes come) without a figure in milliseconds,
since the machines they run on are shared and noisy. The figures are here:

    python -m loadtests.timings [--reads 200] [--wakes 200]

`inline_read_under_write_lock_ms`: a read through the SQLite read engine while another
connection holds the write lock (tests/db/test_inline_reads.py; was `< 500 ms` there).
`stop_tasks_gave_up_after_s`: `stop_tasks(grace=0.3)` with one task that swallows every
cancellation (tests/runtime/test_tasks.py; was `< 2 s`). `sweeper_burst`: full sweeps
for a burst of wakes a few ms apart over about a second (tests/runtime/test_deadlines.py;
was at most 1 + 1 s / SWEEP_GAP + 2 sweeps).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text

from cbt_server.db.engine import make_engine, make_sessionmaker
from cbt_server.db.migrate import upgrade
from cbt_server.runtime import deadlines
from cbt_server.runtime.readengine import make_read_engine
from cbt_server.runtime.tasks import stop_tasks


def _summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000.0 for s in seconds)
    return {
        "n": len(ms),
        "median": round(statistics.median(ms), 3),
        "p99": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 3),
        "max": round(ms[-1], 3),
    }


async def inline_reads_under_write_lock(reads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'cbt.sqlite3'}"
        main = make_engine(url)
        reader = make_read_engine(url)
        assert reader is not None
        try:
            await upgrade(main)
            sessionmaker = make_sessionmaker(reader)
            took: list[float] = []
            async with main.connect() as writer:
                await writer.begin()  # BEGIN IMMEDIATE: holds SQLite's write lock
                await writer.execute(
                    text("INSERT INTO heartbeats (process_id, beat_at) VALUES ('w', 0)")
                )
                for _ in range(reads):
                    began = time.perf_counter()
                    async with sessionmaker.begin() as session:
                        await session.scalar(text("SELECT count(*) FROM heartbeats"))
                    took.append(time.perf_counter() - began)
                await writer.rollback()
            return _summary_ms(took)
        finally:
            await reader.dispose()
            await main.dispose()


async def stop_tasks_giving_up(grace: float = 0.3) -> dict[str, float]:
    release = asyncio.Event()

    async def ignores_cancellation() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await release.wait()

    task = asyncio.create_task(ignores_cancellation())
    await asyncio.sleep(0)
    began = time.perf_counter()
    logging.getLogger("cbt_server.runtime.tasks").disabled = True  # its giving up is expected
    await stop_tasks([task], grace=grace)
    took = time.perf_counter() - began
    release.set()
    await task
    return {"grace_s": grace, "gave_up_after_s": round(took, 3)}


async def sweeper_burst(wakes: int) -> dict[str, Any]:
    class Counting(deadlines.Sweeper):
        began: list[float]

        async def sweep(self) -> datetime | None:
            self.began.append(time.perf_counter())
            return None

        async def finish(self) -> None:
            return None

    sweeper = Counting(SimpleNamespace(now=datetime.now))  # type: ignore[arg-type]
    sweeper.began = []
    task = asyncio.create_task(sweeper.run())
    started = time.perf_counter()
    try:
        for _ in range(wakes):
            sweeper.wake()
            await asyncio.sleep(0.005)
        burst_s = time.perf_counter() - started
        await asyncio.sleep(deadlines.SWEEP_GAP)
    finally:
        task.cancel()
    gaps = [b - a for a, b in zip(sweeper.began, sweeper.began[1:], strict=False)]
    return {
        "wakes": wakes,
        "burst_s": round(burst_s, 3),
        "sweeps": len(sweeper.began),
        "min_gap_s": round(min(gaps), 3) if gaps else None,
        "sweep_gap_s": deadlines.SWEEP_GAP,
    }


async def measure(reads: int, wakes: int) -> dict[str, Any]:
    return {
        "inline_read_under_write_lock_ms": await inline_reads_under_write_lock(reads),
        "stop_tasks": await stop_tasks_giving_up(),
        "sweeper_burst": await sweeper_burst(wakes),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--reads", type=int, default=200, help="reads under the write lock")
    parser.add_argument("--wakes", type=int, default=200, help="sweeper wakes, 5 ms apart")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.reads, args.wakes)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
