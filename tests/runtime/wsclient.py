"""A small test client over the real `websockets` package, recording every frame it gets."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from cbt_server.protocol import SUBPROTOCOL

FORBIDDEN_FIELDS = frozenset(
    {
        "key",
        "keys",
        "mapping",
        "score",
        "score_each",
        "max_score",
        "correct",
        "outcome",
        "explanation",
        "responses",
    }
)


class Client:
    """One WebSocket connection; `frames` keeps every text frame received, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[str] = []
        self._buffer: deque[dict[str, Any]] = deque()
        self.seq = 0

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        subprotocols: list[str] | None = None,
        headers: dict[str, str] | None = None,
        origin: str | None = None,
    ) -> Client:
        ws = await connect(
            url,
            subprotocols=[
                Subprotocol(p) for p in ([SUBPROTOCOL] if subprotocols is None else subprotocols)
            ]
            or None,
            additional_headers=headers,
            origin=origin,  # type: ignore[arg-type]
            max_size=8 * 1024 * 1024,
            open_timeout=10,
        )
        return cls(ws)

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    async def recv(self, wait: float = 10) -> dict[str, Any]:
        if self._buffer:
            return self._buffer.popleft()
        return await self._read(wait)

    async def _read(self, wait: float) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout=wait)
        assert isinstance(raw, str), "the server sends text frames only"
        self.frames.append(raw)
        message: dict[str, Any] = json.loads(raw)
        return message

    async def expect(self, kind: str, wait: float = 10, **match: Any) -> dict[str, Any]:
        """The first message of type `kind` (with fields equal to `match`); others stay
        buffered for later `recv`/`expect` calls."""
        for index, message in enumerate(self._buffer):
            if message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
                del self._buffer[index]
                return message
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        while True:
            left = until - loop.time()
            if left <= 0:
                raise TimeoutError(f"no {kind!r} {match or ''} within {wait}s")
            message = await self._read(left)
            if message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
                return message
            self._buffer.append(message)

    def pending(self) -> list[dict[str, Any]]:
        return list(self._buffer)

    async def close(self) -> None:
        await self.ws.close()


async def candidate_login(
    base_ws: str,
    ticket: str,
    id_number: str,
    *,
    seat: int | None = None,
    resume_token: str | None = None,
) -> tuple[Client, dict[str, Any]]:
    """Open /ws/candidate, say hello, return the client and its first `state`."""
    client = await Client.open(f"{base_ws}/ws/candidate")
    hello: dict[str, Any] = {
        "type": "hello",
        "protocol": SUBPROTOCOL,
        "ticket": ticket,
        "id_number": id_number,
    }
    if seat is not None:
        hello["seat"] = seat
    if resume_token is not None:
        hello["resume_token"] = resume_token
    await client.send(hello)
    state = await client.expect("state")
    client.seq = state["acked_seq"]
    return client, state


async def proctor_open(base_ws: str, cookie: str, session_id: int) -> tuple[Client, dict[str, Any]]:
    client = await Client.open(f"{base_ws}/ws/proctor", headers={"Cookie": f"cbt_staff={cookie}"})
    await client.send({"type": "hello", "protocol": SUBPROTOCOL, "session_id": session_id})
    room = await client.expect("room")
    return client, room


async def command(client: Client, kind: str, **fields: Any) -> dict[str, Any]:
    """Send a proctor command and wait for its ack (or raise with the error)."""
    seq = await client.next_seq()
    await client.send({"type": kind, "seq": seq, **fields})
    loop = asyncio.get_running_loop()
    until = loop.time() + 15
    while loop.time() < until:
        for index, message in enumerate(list(client._buffer)):
            if message.get("type") in ("ack", "error") and (
                message.get("seq") == seq or message.get("ref_seq") == seq
            ):
                del client._buffer[index]
                if message["type"] == "error":
                    raise AssertionError(f"{kind} refused: {message}")
                return message
        message = await client._read(until - loop.time())
        client._buffer.append(message)
    raise TimeoutError(f"no ack for {kind}")


def forbidden_fields(frame: str) -> set[str]:
    """Field names in a frame that would leak keys or per-item scoring."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                if name in FORBIDDEN_FIELDS:
                    found.add(name)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(json.loads(frame))
    return found


async def seat_until(
    proctor: Client, candidate_id: int, done: Callable[[dict[str, Any]], bool], wait: float = 20
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read console updates (`seat` or whole `room`) until this candidate's seat satisfies
    `done`; returns the seat and the message it came in."""
    loop = asyncio.get_running_loop()
    until = loop.time() + wait
    while True:
        message = await proctor.recv(wait=max(0.01, until - loop.time()))
        if message["type"] == "seat":
            seats = [message["candidate"]]
        elif message["type"] == "room":
            seats = message["candidates"]
        else:
            continue
        for seat in seats:
            if seat["candidate_id"] == candidate_id and done(seat):
                return seat, message
