"""Run the server for `cbt-server serve` and `demo`: one process, or N workers on PostgreSQL."""

from __future__ import annotations

import socket
from pathlib import Path

from cbt_server.runtime.fdlimit import raise_open_file_limit
from cbt_server.runtime.workers import run_workers, serve_one
from cbt_server.settings import Settings


class CannotListen(Exception):
    """The address and port cannot be bound (taken by another server, not this machine's)."""


def check_can_listen(host: str, port: int) -> None:
    """Bind the address once and let it go, before the database is opened and migrated:
    a port already in use is then one line naming it, not a traceback after start-up."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        probe = socket.create_server((host or "0.0.0.0", port), family=family)
    except OSError as error:
        reason = error.strerror or str(error)
        raise CannotListen(
            f"cannot listen on {host or '0.0.0.0'}:{port}: {reason}"
            " (is another server running there? stop it, or choose another --port)"
        ) from None
    probe.close()


def run_server(settings: Settings, *, credentials: Path | None = None) -> None:
    """Serve until interrupted (SIGINT/SIGTERM shut down gracefully). `credentials`: the
    demo's credentials file, named in the ready message. Raises CannotListen first when
    the address cannot be bound."""
    check_can_listen(settings.host, settings.port)
    raise_open_file_limit()  # every socket is a file; workers inherit the raised limit
    if settings.workers > 1:
        run_workers(settings)
    else:
        serve_one(settings, credentials=credentials)
