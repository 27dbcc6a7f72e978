"""The candidate socket fuzzed against a live server with a started session.

Each hypothesis example logs in a fresh candidate and sends a run of hostile frames:
malformed JSON, wrong types, unknown and server-only types, frames over the size limit,
replayed and out-of-order sequence numbers, answers for items on other candidates'
papers, choices that are not on the item, flags and submits in the wrong state, hellos
of other candidates. After every frame (or burst of frames) the direct replies must be
exactly what docs/protocol.md says (candidate_model.py); after each example the database
must hold exactly what the acknowledged valid messages stored. Meanwhile another
candidate keeps pinging: the server keeps serving the room.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from websockets.sync.client import ClientConnection, connect

from cbt_server.db import models
from cbt_server.keys import SESSIONMAKER
from cbt_server.protocol import SUBPROTOCOL
from cbt_server.runtime.papers import layout_index
from tests.runtime.exam_setup import Person
from tests.runtime.wsclient import Client
from tests.security.candidate_model import (
    CandidateModel,
    Reply,
    direct,
    paper_of_state,
    same_replies,
)
from tests.security.conftest import Site
from tests.security.frames import Context, candidate_frames, wire

EXAMPLES = 100
MAX_STEPS = 15


def fuzz_settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        # No shrinking: every example uses up a fresh candidate of a finite room, and a
        # failing example is reported whole (every frame sent) anyway.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def recv_json(ws: ClientConnection, timeout: float = 15) -> dict[str, Any]:
    raw = ws.recv(timeout=timeout)
    assert isinstance(raw, str), "the server sends text frames only"
    message: dict[str, Any] = json.loads(raw)
    return message


def sync_connect(ws_url: str, path: str, **extra: Any) -> ClientConnection:
    return connect(
        f"{ws_url}{path}",
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        max_size=8 * 1024 * 1024,
        open_timeout=10,
        ping_interval=None,  # see Site.quiet_login
        **extra,
    )


def sync_hello(ws: ClientConnection, person: Person) -> dict[str, Any]:
    """Log `person` in on `ws`; their first `state`."""
    ws.send(
        json.dumps(
            {
                "type": "hello",
                "protocol": SUBPROTOCOL,
                "ticket": person.ticket,
                "id_number": person.id_number,
            }
        )
    )
    while True:
        message = recv_json(ws)
        if message["type"] == "state":
            return message
        assert message["type"] != "error", message


@dataclass
class Exchange:
    """Sends frames then a ping; collects the direct replies up to the matching pong."""

    ws: ClientConnection
    trace: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    def send(self, frames: list[str | bytes], pongs_expected: int) -> list[Reply]:
        for frame in frames:
            shown = repr(frame[:300]) + (f"... ({len(frame)})" if len(frame) > 300 else "")
            self.trace.append(shown)
            self.ws.send(frame)
        self.ws.send('{"type": "ping"}')
        replies: list[Reply] = []
        pongs = 0
        while pongs < pongs_expected + 1:
            message = recv_json(self.ws)
            self.received.append(message)
            reply = direct(message)
            if reply is None:
                continue  # an event (state, submitted, result): not a reply to a frame
            if reply[0] == "pong":
                pongs += 1
            replies.append(reply)
        return replies


@dataclass
class Room:
    """What the fuzzing thread needs from the running site."""

    site: Site
    loop: asyncio.AbstractEventLoop
    people: Iterator[Person]
    foreign: dict[int, list[str]]  # candidate id -> item ids on others' papers only
    logins: list[tuple[str, str]]
    limit: int
    examples: int = 0
    frames: int = 0

    def db(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)


async def _papers(site: Site) -> dict[int, set[str]]:
    async with site.app[SESSIONMAKER]() as db:
        rows = await db.scalars(
            select(models.Paper).where(models.Paper.session_id == site.s1.session_id)
        )
        return {row.candidate_id: set(layout_index(row.layout)) for row in rows}


def fuzz_one_candidate(room: Room, data: st.DataObject) -> None:
    person = next(room.people)
    with sync_connect(room.site.ws_url, "/ws/candidate") as ws:
        state = sync_hello(ws, person)
        assert state["candidate"]["state"] == "answering" and state["paper"] is not None
        paper = paper_of_state(state)
        model = CandidateModel(paper, room.limit)
        exchange = Exchange(ws)
        ctx = Context(
            own_items=sorted(paper),
            options={item_id: item.options for item_id, item in paper.items()},
            foreign_items=room.foreign[person.id],
            logins=room.logins,
        )
        frames_of = st.lists(candidate_frames(room.limit), min_size=1, max_size=4)
        for _ in range(data.draw(st.integers(1, MAX_STEPS), label="steps")):
            drawn = data.draw(frames_of, label="frames")
            burst: list[str | bytes] = []
            want: list[Reply] = []
            for frame in drawn:
                ctx.acked = model.acked
                burst.append(wire(frame, ctx))
                want += model.expect(burst[-1])
            pongs = sum(1 for reply in want if reply[0] == "pong")
            got = exchange.send(burst, pongs)
            want.append(("pong", None, ""))
            room.frames += len(burst)
            assert same_replies(got, want), (
                f"replies {got} != expected {want}; frames sent:\n" + "\n".join(exchange.trace)
            )
            assert not any(r[2] == "internal" for r in got), exchange.trace
        stored = room.db(room.site.answers(person.id))
        assert stored == model.rows, "stored answers differ from what acked messages saved:\n" + (
            "\n".join(exchange.trace)
        )
        row = room.db(room.site.candidate(person.id))
        assert row.acked_seq == model.acked
        assert (row.state in ("submitted", "graded")) == model.submitted, row.state
        room.examples += 1


async def _keep_pinging(client: Client, stop: asyncio.Event) -> int:
    """Another candidate in the room: pings every 200 ms and must get each pong."""
    pongs = 0
    while not stop.is_set():
        await client.send({"type": "ping"})
        await client.expect("pong", wait=10)
        pongs += 1
        await asyncio.sleep(0.2)
    return pongs


async def test_candidate_socket_survives_hostile_frames(
    any_site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    site = any_site
    caplog.set_level(logging.ERROR)
    await site.start(site.s1)
    papers = await _papers(site)
    everything = set().union(*papers.values())
    people = site.s1.people
    bystander, fuzzed = people[0], people[1:]
    room = Room(
        site,
        asyncio.get_running_loop(),
        iter(fuzzed),
        {p.id: sorted(everything - papers[p.id]) for p in people},
        [(p.ticket, p.id_number) for p in people[:5]],
        site.settings.max_ws_message_bytes,
    )

    @fuzz_settings(EXAMPLES)
    @given(data=st.data())
    def property_(data: st.DataObject) -> None:
        fuzz_one_candidate(room, data)

    client, state = await site.quiet_login(bystander)
    stop = asyncio.Event()
    pinger = asyncio.create_task(_keep_pinging(client, stop))
    try:
        await asyncio.to_thread(property_)
        stop.set()
        pongs = await pinger
        assert room.examples == EXAMPLES and room.frames > 4 * EXAMPLES
        assert pongs > 0
        # The bystander answers after all that: the room goes on.
        item = state["paper"]["sections"][0]["items"][0]
        choice = item["options"][0]["id"]
        await client.send(
            {"type": "answer", "seq": 1, "item_id": item["item_id"], "response": [choice]}
        )
        await client.expect("ack", seq=1)
    finally:
        stop.set()
        pinger.cancel()
        await client.close()
    assert await site.answers(bystander.id) == {item["item_id"]: ([choice], False, 1)}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
