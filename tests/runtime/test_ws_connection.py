"""The one connection driver, without a socket: it carries a plan's effects out in order,
sends each result back in or throws the error in, and retries transient reads."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cbt_server.errors import InvalidTransition
from cbt_server.keys import HUB, RUNTIME, SWEEPER
from cbt_server.protocol.candidate import Ack
from cbt_server.runtime.ws_connection import SocketHandler
from cbt_server.runtime.ws_core import Fail, Grade, Plan, Send


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed = False

    async def send_str(self, data: str) -> None:
        self.sent.append(json.loads(data))

    async def close(self, code: int, message: bytes) -> None:
        self.closed = True


class Sweeper:
    def __init__(self) -> None:
        self.graded: list[int] = []
        self.woken = 0

    async def grade(self, candidate_id: int) -> None:
        self.graded.append(candidate_id)

    def wake(self) -> None:
        self.woken += 1


class Handler(SocketHandler):
    """Answers "double" effects with twice their number, and refuses "refuse"."""

    async def perform(self, effect: object) -> object:
        if isinstance(effect, int):
            return effect * 2
        if effect == "refuse":
            raise InvalidTransition("not now")
        return await super().perform(effect)


def handler() -> tuple[Handler, FakeSocket, Sweeper]:
    app = web.Application()
    sweeper = Sweeper()
    app[RUNTIME] = SimpleNamespace()  # type: ignore[assignment]
    app[HUB] = SimpleNamespace()  # type: ignore[assignment]
    app[SWEEPER] = sweeper  # type: ignore[assignment]
    ws = FakeSocket()
    return Handler(SimpleNamespace(app=app), ws), ws, sweeper  # type: ignore[arg-type]


async def test_effects_are_carried_out_in_order_with_results_and_errors_back_in() -> None:
    seen: list[object] = []

    def plan() -> Plan:
        seen.append((yield 21))
        try:
            yield "refuse"
        except InvalidTransition as error:
            yield Fail(error, 7)
        yield Send(Ack(seq=1))
        yield Grade(4, wake=True)

    conn, ws, sweeper = handler()
    await conn.carry_out(plan())
    assert seen == [42]
    assert ws.sent == [
        {"type": "error", "code": "invalid_transition", "message": "not now", "ref_seq": 7},
        {"type": "ack", "seq": 1},
    ]
    assert (sweeper.graded, sweeper.woken) == ([4], 1)


async def test_an_effect_no_one_carries_out_is_thrown_back_into_the_plan() -> None:
    caught: list[BaseException] = []

    def plan() -> Plan:
        try:
            yield object()
        except TypeError as error:
            caught.append(error)

    conn, _, _ = handler()
    await conn.carry_out(plan())
    assert len(caught) == 1 and "cannot carry out" in str(caught[0])


async def test_a_read_is_retried_while_the_database_fails_transiently() -> None:
    conn, ws, _ = handler()
    failures = iter([PoolTimeout("pool exhausted"), PoolTimeout("pool exhausted")])

    async def read() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "state"

    assert await conn.retrying(read, (0.0, 0.0, 0.0), "reading") == "state"
    failures = iter([PoolTimeout("pool exhausted")] * 3)
    with pytest.raises(PoolTimeout):
        await conn.retrying(read, (0.0, 0.0), "reading")  # two pauses: three tries
    assert next(failures, None) is None
    ws.closed = True
    failures = iter([PoolTimeout("pool exhausted")] * 3)
    with pytest.raises(PoolTimeout):
        await conn.retrying(read, (0.0, 0.0), "reading")  # a closed socket is not waited for
    assert next(failures, None) is not None  # it gave up after the first
