"""The load generator's watch on its own loop (loadtests/loopwatch.py)."""

import asyncio
import gc
import time

from loadtests.loopwatch import GeneratorWatch, acks_during_stalls
from tests.waiting import wait_until


async def test_a_blocked_loop_is_recorded_as_a_stall() -> None:
    watch = GeneratorWatch(every_s=0.01, stall_ms=100.0)
    watch.start()
    await asyncio.sleep(0.05)
    before = time.time()
    time.sleep(0.3)  # noqa: ASYNC251 -- the loop blocked on purpose, as by a long collection
    await wait_until(
        lambda: [s for s in watch.loop_watch.stalls if s[0] > before and s[1] >= 250.0],
        "the watch to note the stall",
        within=10,
    )
    await watch.stop()
    record = watch.record()
    assert record["kind"] == "generator"
    # A busy machine may add a stall of its own; the one made here is among them.
    blocked = [(end, ms) for end, ms in record["stalls"] if end > before and ms >= 250.0]
    assert len(blocked) == 1 and record["stall_count"] == len(record["stalls"]) >= 1
    assert blocked[0][0] <= time.time() and blocked[0][1] <= record["max_lag_ms"]


async def test_full_collections_are_timed_and_survivors_frozen_while_watching() -> None:
    watch = GeneratorWatch()
    watch.start()
    frozen_before = gc.get_freeze_count()
    kept = [[n] for n in range(10_000)]
    gc.collect()
    await asyncio.sleep(0)  # the freeze runs on the loop, after the collection
    assert gc.get_freeze_count() >= frozen_before + len(kept)
    await watch.stop()
    assert gc.get_freeze_count() == 0  # unfrozen when the run ends
    assert watch.full_collections >= 1
    assert watch.record()["longest_full_collection_ms"] > 0.0
    assert gc.callbacks.count(watch._on_gc) == 0


def test_acks_overlapping_a_stall_are_counted_once() -> None:
    # Stalls end at 10.0 (500 ms long) and at 20.0 (200 ms); two overlap each other.
    stalls = [(10.0, 500.0), (10.2, 300.0), (20.0, 200.0)]
    answers = [
        (9.0, 100.0),  # acked at 9.1: before the stall
        (9.4, 200.0),  # waiting from 9.4 to 9.6, inside the first stall
        (10.1, 50.0),  # sent after the first stall ended... inside the second
        (10.3, 10.0),  # after both
        (19.9, 5.0),  # inside the third
        (20.0, 5.0),  # sent as the third ended
    ]
    assert acks_during_stalls(answers, stalls) == 3
    assert acks_during_stalls(answers, []) == 0
