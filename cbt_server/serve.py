"""Run the server for `cbt-server serve` and `demo`: one process, or N workers on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from cbt_server.runtime.fdlimit import raise_open_file_limit
from cbt_server.runtime.workers import run_workers, serve_one
from cbt_server.settings import Settings


def run_server(settings: Settings, *, credentials: Path | None = None) -> None:
    """Serve until interrupted (SIGINT/SIGTERM shut down gracefully). `credentials`: the
    demo's credentials file, named in the ready message."""
    raise_open_file_limit()  # every socket is a file; workers inherit the raised limit
    if settings.workers > 1:
        run_workers(settings)
    else:
        serve_one(settings, credentials=credentials)
