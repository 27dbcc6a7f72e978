"""What both WebSocket endpoints share: the Origin check, the subprotocol, the limits, and
the one mapping from errors to `error` messages and close codes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import WSCloseCode, web
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from cbt_server.errors import DomainError, Forbidden, LoggedInElsewhere
from cbt_server.origins import accepted
from cbt_server.protocol import SUBPROTOCOL, ErrorCode, ProtocolError
from cbt_server.protocol.candidate import Error
from cbt_server.runtime.alarms import is_disk_full
from cbt_server.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20.0
"""WebSocket ping interval: a PC that vanished is noticed within two of these."""

HELLO_TIMEOUT_SECONDS = 60.0
"""A connection that has not logged in by then is closed."""

GROUP_LIMIT = 64
"""At most this many answers/flags that arrived together share one transaction."""

INBOX_SIZE = 256
"""Frames read ahead of processing per connection; beyond that the reader waits (TCP
back-pressure), so a client flooding messages cannot grow the server's memory."""


async def finish_taken(inbox: asyncio.Queue[Any], worker: asyncio.Task[None]) -> None:
    """Wait until the worker has processed every frame taken into `inbox` (or has died).

    A unit of work is never cancelled half-way: a SQLite statement cancelled in
    aiosqlite's thread leaves its connection holding the write lock (a zombie until
    garbage collection) and every writer of the process stalls.
    """
    joined = asyncio.create_task(inbox.join())
    try:
        await asyncio.wait({joined, worker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        joined.cancel()


def hard_frame_limit(settings: Settings) -> int:
    """The size above which aiohttp closes the connection (1009) instead of us answering
    `too_large`: well above the protocol limit, so oversized frames get an error message."""
    return max(1 << 20, settings.max_ws_message_bytes * 4)


def check_origin(request: web.Request, settings: Settings) -> None:
    """Refuse a cross-site upgrade: the Origin, if sent, must be this site (`origins`).

    Browsers always send Origin on WebSocket upgrades; other clients (lab tools, tests)
    may omit it and are then judged by their credentials alone.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return
    local = request.transport.get_extra_info("sockname") if request.transport else None
    address, port = (str(local[0]), int(local[1])) if local else (None, None)
    configured = (*settings.public_origins, *settings.allowed_origins)
    if accepted(origin, configured, address, port):
        return
    raise Forbidden(
        f"WebSocket connections from origin {origin!r} are not accepted; a site reached "
        "by name lists its origins in the setting public_origins"
    )


def make_socket(settings: Settings) -> web.WebSocketResponse:
    return web.WebSocketResponse(
        protocols=(SUBPROTOCOL,),
        heartbeat=HEARTBEAT_SECONDS,
        max_msg_size=hard_frame_limit(settings),
    )


async def refuse_version(ws: web.WebSocketResponse) -> None:
    """The client did not offer `cbt.v1`: say so and close (1002 protocol error)."""
    await ws.send_str(
        Error(
            code=ErrorCode.UNSUPPORTED_VERSION,
            message=f"this server speaks WebSocket subprotocol {SUBPROTOCOL!r} only",
        ).model_dump_json()
    )
    await ws.close(code=WSCloseCode.PROTOCOL_ERROR, message=b"unsupported protocol")


@dataclass(frozen=True, slots=True)
class Outcome:
    error: Error
    close_code: int | None = None  # set when the connection must end


_UNAVAILABLE = (OperationalError, DBAPIError, PoolTimeout, OSError, asyncpg.PostgresError)
TRANSIENT = (*_UNAVAILABLE, TimeoutError)
"""Errors of a database that is down, slow or out of pooled connections: worth retrying."""


def to_ws_error(exc: BaseException, ref_seq: int | None = None) -> Outcome:
    """The `error` message (and close code, if fatal) for an exception from one message."""
    if isinstance(exc, ProtocolError):
        seq = exc.ref_seq if exc.ref_seq is not None else ref_seq
        error = Error(code=exc.code, message=exc.message, ref_seq=seq)
        if exc.code == ErrorCode.UNSUPPORTED_VERSION:
            return Outcome(error, WSCloseCode.PROTOCOL_ERROR)
        return Outcome(error)
    if isinstance(exc, LoggedInElsewhere):
        return Outcome(
            Error(code=exc.code, message=exc.message, ref_seq=ref_seq), WSCloseCode.POLICY_VIOLATION
        )
    if isinstance(exc, DomainError):
        return Outcome(Error(code=exc.code, message=exc.message, ref_seq=ref_seq))
    if isinstance(exc, TRANSIENT):
        log.warning("database unavailable while handling a message: %s", exc)
        message = (
            "the server's disk is full; nothing was saved, resend later"
            if is_disk_full(exc)
            else "the server cannot reach its database; nothing was saved, resend later"
        )
        return Outcome(Error(code="unavailable", message=message, ref_seq=ref_seq))
    log.error("unexpected error handling a message", exc_info=exc)
    return Outcome(Error(code="internal", message="internal server error", ref_seq=ref_seq))
