"""GET /healthz: 200 once the server is up and its database answers."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text

from cbt_server import __version__
from cbt_server.keys import ADMISSION, ENGINE, LOOP_WATCH, SETTINGS
from cbt_server.runtime.fdlimit import open_file_count, open_file_limit
from cbt_server.runtime.loops import loop_name


async def healthz(request: web.Request) -> web.Response:
    app = request.app
    try:
        async with app[ENGINE].connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # report, don't crash: a load balancer reads this
        return web.json_response(
            {"status": "unavailable", "database": str(exc.__class__.__name__)}, status=503
        )
    watch = app.get(LOOP_WATCH)
    admission = app.get(ADMISSION)
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "database": "sqlite" if app[SETTINGS].is_sqlite else "postgresql",
            "event_loop": loop_name(asyncio.get_running_loop()),
            # Stalls of this process's loop since it started (runtime/loopwatch.py).
            "loop_stalls": None if watch is None else watch.stall_count,
            # File descriptors: each socket is one (null where the system does not tell).
            "open_files": open_file_count(),
            "open_files_limit": open_file_limit(),
            # WebSocket connections of this process, and those of them not logged in yet.
            "websockets": None if admission is None else admission.open,
            "websockets_not_logged_in": None if admission is None else admission.pending,
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
