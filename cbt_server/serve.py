"""Run the server for `cbt-server serve` and `demo`: one process, or N workers on PostgreSQL."""

from __future__ import annotations

from cbt_server.runtime.fdlimit import raise_open_file_limit
from cbt_server.runtime.workers import run_workers, serve_one
from cbt_server.settings import Settings


def run_server(settings: Settings) -> None:
    """Serve until interrupted (SIGINT/SIGTERM shut down gracefully)."""
    raise_open_file_limit()  # every socket is a file; workers inherit the raised limit
    if settings.workers > 1:
        run_workers(settings)
    else:
        serve_one(settings)
