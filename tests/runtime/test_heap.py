"""While an exam is open (check-in or running), what survives a full collection is
frozen, so the next full collection walks only newer objects; between exams everything is
collectable again."""

from __future__ import annotations

import asyncio
import gc

from cbt_server.runtime.heap import HeapFreezer


async def test_survivors_are_frozen_only_while_an_exam_is_open() -> None:
    freezer = HeapFreezer(asyncio.get_running_loop())
    freezer.install()
    try:
        gc.collect()
        await asyncio.sleep(0)
        assert freezer.freezes == 0 and gc.get_freeze_count() == 0  # no exam: nothing

        freezer.exam_open(True)  # check-in opens: what was built before is frozen at once
        assert freezer.freezes == 1 and gc.get_freeze_count() > 0
        freezer.exam_open(True)  # still open: nothing more
        assert freezer.freezes == 1
        gc.collect()  # a full collection
        await asyncio.sleep(0)
        assert freezer.freezes == 2 and gc.get_freeze_count() > 0
        gc.collect(1)  # a younger generation's collection freezes nothing
        await asyncio.sleep(0)
        assert freezer.freezes == 2

        freezer.exam_open(False)  # the exams are over: all collectable again
        assert gc.get_freeze_count() == 0
    finally:
        freezer.uninstall()
        gc.unfreeze()


async def test_a_full_collection_during_an_exam_walks_only_what_is_new() -> None:
    freezer = HeapFreezer(asyncio.get_running_loop())
    freezer.install()
    room = [{"seat": n, "answers": [str(n)] * 5} for n in range(200_000)]  # long-lived
    try:
        freezer.exam_open(True)
        assert gc.get_freeze_count() >= len(room)  # frozen at the start, before collecting
        assert len(gc.get_objects(generation=2)) < len(room)
        gc.collect()
        await asyncio.sleep(0)
        frozen = gc.get_freeze_count()
        assert frozen >= len(room)
        tracked_after = len(gc.get_objects(generation=2))
        assert tracked_after < len(room)  # the room is out of the collector's walk
    finally:
        freezer.exam_open(False)
        freezer.uninstall()
        gc.unfreeze()
        del room
