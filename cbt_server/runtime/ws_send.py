"""Sending one text frame so that a cancelled sender leaves nothing unretrieved behind.

aiohttp compresses a large frame and writes it in a shielded task of its own. When the
coroutine awaiting that send is cancelled (a connection's pump stopped as the socket
closes) and the write then fails on the closing transport, nobody retrieves the failure
and asyncio logs "Task exception was never retrieved" as an error. Here the whole send
runs in a task that is never cancelled with its caller and whose outcome is always taken.
"""

from __future__ import annotations

import asyncio

from aiohttp import web


def _take_outcome(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a failed send to a closing socket is expected


DIRECT_CHARS = 4096
"""Below this many characters (at most 12 KiB of UTF-8) aiohttp compresses and writes a
frame at once, with no task of its own: such a send (every ack) goes straight out."""


async def send_text(ws: web.WebSocketResponse, text: str) -> None:
    """`ws.send_str(text)`, finished even if the caller is cancelled; raises as it does."""
    if len(text) < DIRECT_CHARS:
        await ws.send_str(text)
        return
    sending = asyncio.ensure_future(ws.send_str(text))
    sending.add_done_callback(_take_outcome)
    await asyncio.shield(sending)
