"""Run the server process(es) for `cbt serve` and `cbt demo`."""

from __future__ import annotations

import logging

from aiohttp import web

from cbt_server.app import create_app
from cbt_server.settings import Settings

log = logging.getLogger("cbt_server")


def run_server(settings: Settings) -> None:
    """Serve until interrupted (SIGINT/SIGTERM shut down gracefully)."""
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    base = f"http://{settings.host}:{settings.port}"
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda _: print(f"CBT server ready on {base}  (health: {base}/healthz)", flush=True),
        access_log=None,
    )
