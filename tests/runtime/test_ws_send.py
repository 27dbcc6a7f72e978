"""A send cancelled half-way leaves no unretrieved failure behind: aiohttp writes a large
compressed frame in a shielded task of its own, and when that write failed on a closing
socket after its sender was cancelled, asyncio logged "Task exception was never
retrieved" as an error (seen in the console fuzz test)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from cbt_server.protocol.candidate import Closing
from cbt_server.runtime.hub import Connection


class ClosingSocket:
    """Sends as aiohttp sends a large compressed frame; the transport closes meanwhile."""

    closed = False

    def __init__(self) -> None:
        self.failed = asyncio.Event()
        self.background: set[asyncio.Task[None]] = set()

    async def send_str(self, text: str) -> None:
        async def write() -> None:
            await asyncio.sleep(0.05)
            self.failed.set()
            raise ConnectionResetError("Cannot write to closing transport")

        task = asyncio.ensure_future(write())
        self.background.add(task)  # as aiohttp does: held until done, then let go
        task.add_done_callback(self.background.discard)
        await asyncio.shield(task)


async def test_a_cancelled_send_leaves_no_unretrieved_failure() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        socket = ClosingSocket()
        conn = Connection(socket, session_id=1)  # type: ignore[arg-type]
        sender = asyncio.ensure_future(conn.send(Closing(reason="x" * 10_000, reconnect=True)))
        await asyncio.sleep(0.01)  # the write is under way
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        await socket.failed.wait()
        for _ in range(3):
            await asyncio.sleep(0.01)
        del sender
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert [context["message"] for context in reported] == []
