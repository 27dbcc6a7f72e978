"""The server's watch on its event loop (runtime/loopwatch.py): a stall is counted and
logged with its length, ordinary wakes are not."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from cbt_server.runtime.loopwatch import KEPT, LoopWatch, log_stall
from tests.waiting import wait_until


async def test_a_blocked_loop_is_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    watch = LoopWatch(every_s=0.01, stall_ms=200.0, on_stall=log_stall)
    task = asyncio.create_task(watch.run())
    await asyncio.sleep(0.05)
    before = time.time()
    with caplog.at_level(logging.WARNING, logger="cbt_server.runtime.loopwatch"):
        time.sleep(0.3)  # noqa: ASYNC251 -- the loop blocked on purpose

        def made_here() -> list[tuple[float, float]]:
            return [(end, ms) for end, ms in watch.stalls if end > before and ms >= 250.0]

        await wait_until(made_here, "the watch to note the stall", within=10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    # A busy machine may add a stall of its own; the one made here is among them.
    blocked = made_here()
    assert len(blocked) == 1 and watch.stall_count == len(watch.stalls) >= 1
    assert max(ms for _, ms in watch.stalls) == round(watch.max_lag_ms, 1)  # to 0.1 ms
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == watch.stall_count
    assert all(m.startswith("the event loop was blocked for ") for m in messages)


def test_wakes_within_the_limit_are_not_stalls() -> None:
    seen: list[float] = []
    watch = LoopWatch(stall_ms=250.0, on_stall=seen.append)
    watch.note(249.9, 1000.0)
    watch.note(3.0, 1001.0)
    assert watch.stall_count == 0 and watch.stalls == [] and seen == []
    assert watch.max_lag_ms == 249.9


def test_the_count_stays_exact_beyond_the_stalls_kept() -> None:
    watch = LoopWatch(stall_ms=1.0)
    for n in range(KEPT + 5):
        watch.note(2.0, float(n))
    assert watch.stall_count == KEPT + 5
    assert len(watch.stalls) == KEPT and watch.stalls[-1] == (float(KEPT - 1), 2.0)
