"""Fault: the server is stopped with SIGTERM while answers are in flight.

A graceful stop must finish what it has begun: every change the server committed is
acknowledged before the connection closes (none is left committed but unacknowledged,
none half-written), every client hears `closing` with `reconnect: true` and the close
code 1001 (going away), and the changes it never took are sent again by the pages once
the server is back. Never acknowledged-and-lost.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.faults.checks import losses_in_rows, stored_answers
from tests.faults.conftest import RoomFactory, keep_answering, open_room
from tests.faults.page import pick

pytestmark = pytest.mark.slow

GOING_AWAY = 1001
log = logging.getLogger(__name__)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_sigterm_with_answers_in_flight(room_factory: RoomFactory, backend: str) -> None:
    room = await room_factory(backend)
    await open_room(room)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(keep_answering(p, stop, seed=i, think=(0.05, 0.3)))
        for i, p in enumerate(room.pages)
    ]
    acked = lambda: sum(len(p.ledger.acked) for p in room.pages)  # noqa: E731
    await room.pages[0].until(lambda: acked() >= 150, 60, "answers acked")
    # A burst from every candidate at once, so that answers are in flight when SIGTERM
    # lands (the server acknowledges a trickle too fast to count on a backlog).
    for index, page in enumerate(room.pages):
        for item in page.paper[:3]:
            page.answer(item["item_id"], pick(item, index))
    await room.pages[0].until(lambda: sum(len(p.outbox) for p in room.pages) >= 5, 10, "flight")

    began = loop.time()
    code = await room.server.terminate(limit_s=60)
    stopped_in = loop.time() - began
    assert code == 0, room.server.tail()
    in_flight_at_stop = sum(len(p.outbox_at_close[0]) for p in room.pages if p.outbox_at_close)

    for page in room.pages:
        assert any(c.get("reconnect") is True for c in page.closings), page.name
        assert page.close_codes and page.close_codes[0] == GOING_AWAY, page.close_codes
        assert page.ledger.acked_after_closing == [], page.name

    await asyncio.sleep(1)
    await room.server.start()
    await asyncio.gather(*(p.until_logins(2, limit_s=60) for p in room.pages))
    await asyncio.sleep(2)
    stop.set()
    await asyncio.gather(*tasks)
    await asyncio.gather(*(p.until_all_acked(limit_s=60) for p in room.pages))

    ids = {p.name: person.id for p, person in zip(room.pages, room.exam.people, strict=True)}
    stored = await stored_answers(room.settings, ids.values())
    problems: list[str] = []
    for page in room.pages:
        rows = stored[ids[page.name]]
        problems += losses_in_rows(page.name, page.ledger.acked, page.ledger.sent, rows)
        final = {item: sorted(row.response) for item, row in rows.items()}
        if final != {item: sorted(r) for item, r in page.intended().items()}:
            problems.append(f"{page.name}: stored answers differ from the candidate's choices")
    assert not problems, "\n".join(problems[:20])
    # What the server committed before it stopped, it acknowledged before it closed.
    unacked_but_stored = {p.name: sorted(p.ledger.acked_by_state) for p in room.pages}
    assert all(not seqs for seqs in unacked_but_stored.values()), {
        k: v for k, v in unacked_but_stored.items() if v
    }
    log.info(
        "SIGTERM (%s): exited in %.2f s; %d changes unacknowledged at the close, all resent",
        backend,
        stopped_in,
        in_flight_at_stop,
    )
